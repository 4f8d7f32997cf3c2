"""A broken procedure file is refused with one line per problem naming the file, the stage and the field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from resolve.procedures.loader import ProcedureError, procedure_load_dir, procedure_load_file
from resolve.procedures.tests.conftest import minimal_procedure

WriteProcedure = Callable[..., Path]


def problems(path: Path) -> list[str]:
    with pytest.raises(ProcedureError) as caught:
        procedure_load_file(path)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def test_a_valid_file_loads(write_procedure: WriteProcedure) -> None:
    procedure = procedure_load_file(write_procedure(minimal_procedure()))
    assert procedure.key == "testshire"
    assert [stage.key for stage in procedure.stages] == ["informal", "stage_1", "stage_2"]


def test_unknown_role(write_procedure: WriteProcedure) -> None:
    path = write_procedure(
        minimal_procedure().replace('to_role = "service_manager"', 'to_role = "service_mgr"')
    )
    [line] = problems(path)
    assert line.startswith(f"{path}: stage \"stage_2\": to_role: unknown role 'service_mgr'; use one of: ")
    assert "service_manager" in line


def test_unknown_role_in_a_copy_list_names_its_position(write_procedure: WriteProcedure) -> None:
    path = write_procedure(
        minimal_procedure().replace('cc_roles = ["team_manager"]', 'cc_roles = ["team_manager", "ops"]')
    )
    [line] = problems(path)
    assert line.startswith(f"{path}: stage \"informal\": cc_roles[1]: unknown role 'ops'")


def test_bad_timescale(write_procedure: WriteProcedure) -> None:
    path = write_procedure(minimal_procedure(days=0))
    assert problems(path) == [f'{path}: stage "stage_1": response_working_days: must be at least 1']


def test_timescale_that_is_not_a_number(write_procedure: WriteProcedure) -> None:
    path = write_procedure(
        minimal_procedure().replace(
            'response_working_days = 5\ncase_note = "Stage 2"',
            'response_working_days = "five"\ncase_note = "Stage 2"',
        )
    )
    assert problems(path) == [f'{path}: stage "stage_2": response_working_days: must be a whole number']


def test_several_problems_one_line_each(write_procedure: WriteProcedure) -> None:
    text = minimal_procedure(days=99).replace('to_role = "social_worker"', 'to_role = "nobody"')
    path = write_procedure(text.replace('nation = "england-and-wales"', 'nation = "wales"'))
    lines = problems(path)
    assert len(lines) == 3
    assert any(line.startswith(f"{path}: nation: ") for line in lines)
    assert f"{path}: stage \"informal\": to_role: unknown role 'nobody'" in "\n".join(lines)
    assert f'{path}: stage "stage_1": response_working_days: must be at most 60' in lines


def test_duplicate_stage_key(write_procedure: WriteProcedure) -> None:
    path = write_procedure(minimal_procedure().replace('key = "stage_2"', 'key = "stage_1"'))
    assert problems(path) == [
        f"{path}: stage \"stage_1\" (stages[2]): key: 'stage_1' is already the key of stages[1]"
    ]


def test_reentry_to_a_later_stage_is_allowed(write_procedure: WriteProcedure) -> None:
    # Seed 003, stage 1: when agreed actions are not delivered "the process moves directly to the next stage".
    text = minimal_procedure().replace(
        'case_note = "Stage 1"', 'case_note = "Stage 1"\nreentry_stage = "stage_2"'
    )
    procedure = procedure_load_file(write_procedure(text))
    assert procedure.reentry_for("stage_1") == "stage_2"


def test_reentry_to_no_such_stage(write_procedure: WriteProcedure) -> None:
    text = minimal_procedure().replace(
        'case_note = "Stage 2"', 'case_note = "Stage 2"\nreentry_stage = "stage_9"'
    )
    path = write_procedure(text)
    assert problems(path) == [
        f"{path}: stage \"stage_2\": reentry_stage: 'stage_9' is not a stage of this procedure"
    ]


def test_cpc_in_cafcass_tracks(write_procedure: WriteProcedure) -> None:
    path = write_procedure(minimal_procedure() + '\n[cafcass]\ntracks = ["iro", "cpc"]\n')
    [line] = problems(path)
    assert line.startswith(f"{path}: cafcass.tracks: only the IRO track may refer to Cafcass")
    assert "s25B(3)" in line


def test_cafcass_stage_that_does_not_exist(write_procedure: WriteProcedure) -> None:
    path = write_procedure(minimal_procedure() + '\n[cafcass]\nearliest_stage = "stage_4"\n')
    assert problems(path) == [f"{path}: cafcass.earliest_stage: 'stage_4' is not a stage of this procedure"]


def test_cafcass_checklist_key_twice(write_procedure: WriteProcedure) -> None:
    item = '\n[[cafcass.checklist]]\nkey = "iro_report"\nlabel = "IRO report"\n'
    path = write_procedure(minimal_procedure() + item + item)
    assert problems(path) == [f"{path}: cafcass.checklist: the list names 'iro_report' twice"]


def test_copy_list_repeating_the_recipient(write_procedure: WriteProcedure) -> None:
    path = write_procedure(
        minimal_procedure().replace(
            'cc_roles = ["team_manager"]', 'cc_roles = ["team_manager", "social_worker"]'
        )
    )
    assert problems(path) == [f"{path}: stage \"informal\": cc_roles[1]: repeats to_role 'social_worker'"]


def test_informal_stage_after_a_formal_one(write_procedure: WriteProcedure) -> None:
    text = minimal_procedure().replace(
        'kind = "formal"\nto_role = "service_manager"', 'kind = "informal"\nto_role = "service_manager"'
    )
    path = write_procedure(text)
    assert problems(path) == [f'{path}: stage "stage_2": kind: an informal stage cannot follow a formal one']


def test_unknown_document(write_procedure: WriteProcedure) -> None:
    text = minimal_procedure().replace(
        'case_note = "Stage 2"', 'case_note = "Stage 2"\ndocuments = ["briefing"]'
    )
    path = write_procedure(text)
    [line] = problems(path)
    assert line.startswith(f"{path}: stage \"stage_2\": documents[0]: unknown document 'briefing'")


def test_misspelt_and_missing_fields(write_procedure: WriteProcedure) -> None:
    text = minimal_procedure().replace('case_note = "Stage 1"', 'casenote = "Stage 1"')
    path = write_procedure(text)
    assert problems(path) == [
        f'{path}: stage "stage_1": case_note: is required',
        f'{path}: stage "stage_1": casenote: is not a field of a procedure '
        "(check the spelling and the table it sits in)",
    ]


def test_a_stage_without_a_key_is_named_by_position(write_procedure: WriteProcedure) -> None:
    path = write_procedure(minimal_procedure().replace('key = "stage_2"\n', ""))
    assert problems(path) == [f"{path}: stages[2]: key: is required"]


def test_toml_syntax_error_names_file_and_line(write_procedure: WriteProcedure) -> None:
    path = write_procedure(minimal_procedure().replace('name = "Stage 1"', 'name = "Stage 1'))
    [line] = problems(path)
    assert line.startswith(f"{path}: TOML syntax error: ")
    assert "(at line 20, column 16)" in line


def test_missing_file() -> None:
    [line] = problems(Path("/nonexistent/policy.toml"))
    assert line.startswith("/nonexistent/policy.toml: cannot be read: ")


def test_folder_refuses_two_files_with_one_key(write_procedure: WriteProcedure, tmp_path: Path) -> None:
    write_procedure(minimal_procedure(), name="a.toml")
    write_procedure(minimal_procedure(), name="b.toml")
    with pytest.raises(ProcedureError) as caught:
        procedure_load_dir(tmp_path)
    assert caught.value.problems == [
        f'{tmp_path / "b.toml"}: key: "testshire" is already the key of {tmp_path / "a.toml"}'
    ]


def test_folder_reports_every_broken_file(write_procedure: WriteProcedure, tmp_path: Path) -> None:
    write_procedure(minimal_procedure(key="one", days=0), name="one.toml")
    write_procedure("key = ", name="two.toml")
    write_procedure(minimal_procedure(key="three"), name="three.toml")
    with pytest.raises(ProcedureError) as caught:
        procedure_load_dir(tmp_path)
    assert [line.split(":")[0] for line in caught.value.problems] == [
        str(tmp_path / "one.toml"),
        str(tmp_path / "two.toml"),
    ]


def test_folder_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ProcedureError, match="is not a folder of procedure files"):
        procedure_load_dir(tmp_path / "missing")
