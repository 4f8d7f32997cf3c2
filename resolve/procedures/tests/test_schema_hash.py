"""New schema fields leave the hash of procedures that do not use them alone.

A recorded version's hash covers its whole validated dump (``procedure_document``), and a changed hash
with the same version is refused at load, so a field added to the schema must not appear in the dump
of a procedure that leaves it at its default (``OMIT_WHEN_DEFAULT``).
"""

from __future__ import annotations

from django.conf import settings

from resolve.procedures.loader import procedure_load_file
from resolve.procedures.schema import Cafcass, CafcassPrecondition, Procedure
from resolve.procedures.services import procedure_document

# The hashes these versions were recorded with before fields were added alongside them.
RECORDED = {
    "challenge_and_resolution": (2, "f6643fd5e5fe8fec03894dfeba91d78ab886e714d66bc08199e9a1972bbc6678"),
    "informal_challenge_dispute_resolution": (
        1,
        "d81df9543eb0e31746072c96a800721e72417e623383043eeff216b9ebe277cd",
    ),
    "national": (1, "69ad919d63727694234bf97aa255e6996d927e9428932545251fe97aa567c9a0"),
    "outcome_resolution": (1, "a51c3307ae8dc6653508ee7a068193cdb50049152d5f1ed893cc262deb3b35ab"),
}


def test_new_fields_leave_old_hashes_alone() -> None:
    for key, (version, sha256) in RECORDED.items():
        procedure = procedure_load_file(settings.RESOLVE_POLICY_DIR / f"{key}.toml")
        if procedure.version != version:
            continue  # a later version of the file may use the new fields; its old hash is history
        assert procedure_document(procedure)[1] == sha256, key


def test_a_new_field_is_dumped_only_when_set() -> None:
    national = procedure_load_file(settings.RESOLVE_POLICY_DIR / "national.toml")
    plain = national.model_dump(mode="json")
    assert "form_completed_by" not in plain["cafcass"]
    assert "agreement_requested" not in plain["case_notes"]
    told = CafcassPrecondition(key="told", label="Told first", role="deputy_director", kind="inform")
    cafcass = Cafcass(requires=[told], form_completed_by="iro_service_manager")
    changed = Procedure.model_validate({**plain, "cafcass": cafcass.model_dump(mode="json")})
    dumped = changed.model_dump(mode="json")["cafcass"]
    assert dumped["form_completed_by"] == "iro_service_manager"
    assert dumped["requires"][0]["kind"] == "inform"
    assert procedure_document(changed)[1] != procedure_document(national)[1]
    # and it reads back the same
    assert Procedure.model_validate(changed.model_dump(mode="json")) == changed
