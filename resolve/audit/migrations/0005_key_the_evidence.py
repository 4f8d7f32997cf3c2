"""Re-seal every evidence chain with the evidence key, and seal what was not sealed before.

The first chains were unkeyed sha256, which anyone could recompute; these rows are re-sealed with the
current key (``RESOLVE_EVIDENCE_KEYS``), the records of each challenge get their first records chain,
and each access-log row and break-glass grant its own seal.
"""

from django.db import migrations

RECORDS = (
    ("challenges", "StageVisit"),
    ("challenges", "Action"),
    ("challenges", "Response"),
    ("challenges", "Meeting"),
    ("challenges", "Document"),
    ("challenges", "CafcassReferral"),
)


def seal(apps, schema_editor):
    from resolve.audit.chain import case_note_fields, event_fields, seal_fields
    from resolve.audit.sealing import current_key_id, link_hash, row_digest, row_seal

    key_id = current_key_id()
    EvidenceHead = apps.get_model("audit", "EvidenceHead")
    EvidenceSeal = apps.get_model("audit", "EvidenceSeal")
    heads: dict[str, tuple[int, str]] = {}
    for chain_of, rows, fields in (
        ("challenge", apps.get_model("challenges", "Event").objects.order_by("challenge_id", "sequence", "id"), event_fields),
        ("child", apps.get_model("children", "CaseNote").objects.order_by("child_id", "id"), case_note_fields),
    ):
        for row in rows.iterator():
            chain = f"{chain_of}:{row.challenge_id if chain_of == 'challenge' else row.child_id}"
            length, previous = heads.get(chain, (0, ""))
            digest = link_hash(fields(row), previous, key_id)
            type(row)._base_manager.filter(pk=row.pk).update(previous_hash=previous, hash=digest, key_id=key_id)
            heads[chain] = (length + 1, digest)
    Challenge = apps.get_model("challenges", "Challenge")
    for challenge in Challenge.objects.order_by("id").iterator():
        chain = f"records:{challenge.pk}"
        rows = [(challenge, ("updated_at",))]
        for app_label, model in RECORDS:
            rows += [
                (row, ())
                for row in apps.get_model(app_label, model).objects.filter(challenge_id=challenge.pk).order_by("id")
            ]
        previous = ""
        for sequence, (row, exclude) in enumerate(rows, start=1):
            link = EvidenceSeal(
                chain=chain,
                sequence=sequence,
                record=row._meta.label_lower,
                record_id=row.pk,
                digest=row_digest(row, exclude),
                key_id=key_id,
                previous_hash=previous,
            )
            link.hash = link_hash(seal_fields(link), previous, key_id)
            link.save()
            previous = link.hash
        heads[chain] = (len(rows), previous)
    for chain, (length, digest) in heads.items():
        EvidenceHead.objects.update_or_create(chain=chain, defaults={"length": length, "hash": digest})
    for model in ("AccessLogEntry", "BreakGlassGrant"):
        Model = apps.get_model("audit", model)
        for row in Model.objects.order_by("id").iterator():
            Model._base_manager.filter(pk=row.pk).update(key_id=key_id, seal=row_seal(row, key_id))


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_evidence_seals_and_keys"),
        ("challenges", "0005_event_key_id"),
        ("children", "0003_casenote_key_id"),
    ]

    operations = [migrations.RunPython(seal, migrations.RunPython.noop)]
