"""A partner agency's ladder as a procedure file (issue 9, section 8): the shipped multi-agency escalation
procedure validates, its rules are checked with messages naming the field, and the fields it adds leave
the other procedures' recorded hashes alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from resolve.procedures.loader import ProcedureError, procedure_load_file
from resolve.procedures.schema import Procedure
from resolve.procedures.services import procedure_document

# Seed 000, section 2: "external challenge should be logged via a case note on the child's record
# (to be added) in line with the CSCP multi-agency escalation procedures".
SEED_000 = "in line with the CSCP multi-agency escalation procedures"

# The hashes of the shipped versions before the partner agency fields were added to the schema.
BEFORE = {
    "challenge_and_resolution": (3, "279b6b7f0d5512e79eedd38573fdac7c371acebfc073b150b0585042919b1dbe"),
    "cla_dispute_resolution": (3, "7ea3cedb5c440446c0d5fcf4a4934b24c2547bc1617ca0e874c44c85592f4591"),
    "informal_challenge_dispute_resolution": (
        2,
        "cde74a370fddfca8dad3fca50fbd2c8a2bf5f795957e07480fc0ffef709f50cc",
    ),
    "national": (1, "69ad919d63727694234bf97aa255e6996d927e9428932545251fe97aa567c9a0"),
    "outcome_resolution": (2, "3e2eb7eb3cb027c9e86e43ab9a0f7ba6e570da8a42a0efa76abed70c78a8e5a3"),
    "qa_issue_resolution": (2, "6b6010170406f095b61c8c2a9c2ff7fc7d7917909fc3af5e0d0353a29540b302"),
}


def _load(key: str) -> Procedure:
    return procedure_load_file(Path(settings.RESOLVE_POLICY_DIR) / f"{key}.toml")


def test_the_other_procedures_keep_their_hashes() -> None:
    for key, (version, sha256) in BEFORE.items():
        procedure = _load(key)
        if procedure.version != version:
            continue  # a later version may use new fields; its old hash is history
        assert procedure_document(procedure)[1] == sha256, key
        dumped = procedure.model_dump(mode="json")
        assert "partner_agency" not in dumped and "agency_kinds" not in dumped
        assert all("agency_level" not in stage for stage in dumped["stages"])


def test_the_shipped_multi_agency_ladder() -> None:
    """Seed 000: challenge to partner agencies "in line with the CSCP multi-agency escalation
    procedures": practitioner, manager, safeguarding lead, the partnership, in working days."""
    assert "multi-agency" in SEED_000
    procedure = _load("multi_agency_escalation")
    assert procedure.partner_agency
    assert [(s.key, s.agency_level, s.response_working_days, s.to_role) for s in procedure.stages] == [
        ("level_1", "practitioner", 3, None),
        ("level_2", "manager", 5, None),
        ("level_3", "safeguarding lead", 5, None),
        ("level_4", "partnership", 10, None),
    ]
    assert {kind.key for kind in procedure.agency_kinds} >= {
        "health",
        "police",
        "education",
        "local_authority",
        "provider",
    }
    # The formal levels fit the national 20 working days.
    assert sum(s.response_working_days or 0 for s in procedure.stages if s.kind == "formal") == 20
    text = (Path(settings.RESOLVE_POLICY_DIR) / "multi_agency_escalation.toml").read_text()
    assert "THE LEVELS AND TIMESCALES ARE THE PARTNERSHIP'S, NOT RESOLVE'S" in text


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(
        'key = "p"\nversion = 1\nname = "P"\nauthority = "A"\nnation = "england-and-wales"\n'
        'source = "S"\ntracks = ["iro"]\n' + body
    )
    return path


STAGE = '[[stages]]\nkey = "level_1"\nname = "Level 1"\nkind = "informal"\ncase_note = "N"\n'


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            'partner_agency = true\n[[agency_kinds]]\nkey = "health"\nlabel = "Health"\n' + STAGE,
            'stage "level_1": agency_level: is required on a partner agency\'s ladder',
        ),
        (
            'partner_agency = true\n[[agency_kinds]]\nkey = "health"\nlabel = "Health"\n'
            + STAGE
            + 'to_role = "team_manager"\n',
            'stage "level_1": to_role: a partner agency\'s stage goes to its contact, not a role',
        ),
        (
            "partner_agency = true\n" + STAGE + 'agency_level = "practitioner"\n',
            "agency_kinds: name at least one kind of partner agency",
        ),
        (STAGE, 'stage "level_1": to_role: is required'),
        (
            STAGE + 'to_role = "team_manager"\nagency_level = "practitioner"\n',
            'stage "level_1": agency_level: a stage goes to a role or to a partner agency, not both',
        ),
    ],
)
def test_each_problem_names_the_file_the_stage_and_the_field(tmp_path: Path, body: str, problem: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(ProcedureError) as refused:
        procedure_load_file(path)
    assert any(problem in line and str(path) in line for line in refused.value.problems), (
        refused.value.problems
    )
