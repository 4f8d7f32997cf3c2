"""Fields added to the procedure schema after procedures were recorded leave the hash of a procedure
that does not use them as it was, so its recorded version (the evidence of what challenges were held
to) still matches; a procedure that uses one is a new version."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from resolve.procedures.loader import procedure_load_file
from resolve.procedures.schema import Procedure
from resolve.procedures.services import procedure_document

# SHA-256 of each shipped procedure's document, by the version recorded before the chair's deadline,
# the extension maximum and the concern and extension case-note names existed; none of those versions
# uses them. A later version of a file may change what it says, and so its hash.
RECORDED = {
    "challenge_and_resolution": (2, "f6643fd5e5fe8fec03894dfeba91d78ab886e714d66bc08199e9a1972bbc6678"),
    "informal_challenge_dispute_resolution": (
        1,
        "d81df9543eb0e31746072c96a800721e72417e623383043eeff216b9ebe277cd",
    ),
    "national": (1, "69ad919d63727694234bf97aa255e6996d927e9428932545251fe97aa567c9a0"),
    "qa_issue_resolution": (1, "dd8e5c48246ffc483a288252b7b07e7914f91ed8275886fe17f1e3e5640aa870"),
}

NEW_FIELDS = ("chair_deadline", "extension_max_working_days", "concern", "deadline_extended")


def _keys(document: Any) -> set[str]:
    if isinstance(document, dict):
        return set(document) | {key for value in document.values() for key in _keys(value)}
    if isinstance(document, list):
        return {key for value in document for key in _keys(value)}
    return set()


def test_procedures_that_do_not_use_the_new_fields_keep_their_recorded_hash() -> None:
    for key, (version, sha256) in RECORDED.items():
        procedure = procedure_load_file(settings.RESOLVE_POLICY_DIR / f"{key}.toml")
        if procedure.version != version:
            continue  # a later version says something else; the recorded hash is its predecessor's
        document, digest = procedure_document(procedure)
        assert not _keys(document) & set(NEW_FIELDS), key
        assert digest == sha256, key


def test_a_procedure_that_uses_them_dumps_them_and_is_a_new_version() -> None:
    # Seed 000: "IRO completes informal resolution form within 3 days"; seed 001: "recorded as Case
    # Note – Independent Reviewing Officer".  # noqa: RUF003
    outcome = procedure_load_file(settings.RESOLVE_POLICY_DIR / "outcome_resolution.toml")
    document, _ = procedure_document(outcome)
    assert document["stages"][0]["chair_deadline"] == {
        "description": "IRO completes informal resolution form",
        "days": 3,
        "working_days": False,
    }
    assert outcome.version == 2
    cla = procedure_load_file(settings.RESOLVE_POLICY_DIR / "cla_dispute_resolution.toml")
    document, _ = procedure_document(cla)
    assert document["case_notes"]["concern"] == "Case Note – Independent Reviewing Officer"  # noqa: RUF001
    assert cla.version == 3


def test_the_extension_maximum_is_the_procedures_else_the_national_cap() -> None:
    national = procedure_load_file(settings.RESOLVE_POLICY_DIR / "national.toml")
    assert national.extension_limit() == 20
    data = national.model_dump(mode="json")
    data["extension_max_working_days"] = 10
    with_limit = Procedure.model_validate(data)
    assert with_limit.extension_limit() == 10
    assert procedure_document(with_limit)[1] != procedure_document(national)[1]
