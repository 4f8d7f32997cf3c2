"""Seal the events and case notes written before the hash chains existed, oldest first."""

from django.db import migrations


def seal(apps, schema_editor):
    from resolve.audit.chain import case_note_fields, event_fields, link_hash

    Event = apps.get_model("challenges", "Event")
    CaseNote = apps.get_model("children", "CaseNote")
    EvidenceHead = apps.get_model("audit", "EvidenceHead")
    for chain_of, rows, fields in (
        ("challenge", Event.objects.order_by("challenge_id", "sequence", "id"), event_fields),
        ("child", CaseNote.objects.order_by("child_id", "id"), case_note_fields),
    ):
        heads: dict[str, tuple[int, str]] = {}
        for row in rows.iterator():
            owner = row.challenge_id if chain_of == "challenge" else row.child_id
            chain = f"{chain_of}:{owner}"
            length, previous = heads.get(chain, (0, ""))
            digest = link_hash(fields(row), previous, "")  # the unkeyed first version; 0005 keys it
            type(row).objects.filter(pk=row.pk).update(previous_hash=previous, hash=digest)
            heads[chain] = (length + 1, digest)
        for chain, (length, digest) in heads.items():
            EvidenceHead.objects.update_or_create(chain=chain, defaults={"length": length, "hash": digest})


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("challenges", "0003_event_hash_chain"),
        ("children", "0002_casenote_hash_chain"),
    ]

    operations = [migrations.RunPython(seal, migrations.RunPython.noop)]
