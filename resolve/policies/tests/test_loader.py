"""A broken policy file is refused with one line per problem naming the file, the stage and the field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from resolve.policies.loader import PolicyError, policy_load_dir, policy_load_file
from resolve.policies.tests.conftest import minimal_policy

WritePolicy = Callable[..., Path]


def problems(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        policy_load_file(path)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def test_a_valid_file_loads(write_policy: WritePolicy) -> None:
    policy = policy_load_file(write_policy(minimal_policy()))
    assert policy.key == "testshire"
    assert [stage.key for stage in policy.stages] == ["informal", "stage_1", "stage_2"]


def test_unknown_role(write_policy: WritePolicy) -> None:
    path = write_policy(minimal_policy().replace('to_role = "service_manager"', 'to_role = "service_mgr"'))
    [line] = problems(path)
    assert line.startswith(f"{path}: stage \"stage_2\": to_role: unknown role 'service_mgr'; use one of: ")
    assert "service_manager" in line


def test_unknown_role_in_a_copy_list_names_its_position(write_policy: WritePolicy) -> None:
    path = write_policy(
        minimal_policy().replace('cc_roles = ["team_manager"]', 'cc_roles = ["team_manager", "ops"]')
    )
    [line] = problems(path)
    assert line.startswith(f"{path}: stage \"informal\": cc_roles[1]: unknown role 'ops'")


def test_bad_timescale(write_policy: WritePolicy) -> None:
    path = write_policy(minimal_policy(days=0))
    assert problems(path) == [f'{path}: stage "stage_1": response_working_days: must be at least 1']


def test_timescale_that_is_not_a_number(write_policy: WritePolicy) -> None:
    path = write_policy(
        minimal_policy().replace(
            'response_working_days = 5\ncase_note = "Stage 2"',
            'response_working_days = "five"\ncase_note = "Stage 2"',
        )
    )
    assert problems(path) == [f'{path}: stage "stage_2": response_working_days: must be a whole number']


def test_several_problems_one_line_each(write_policy: WritePolicy) -> None:
    text = minimal_policy(days=99).replace('to_role = "social_worker"', 'to_role = "nobody"')
    path = write_policy(text.replace('nation = "england-and-wales"', 'nation = "wales"'))
    lines = problems(path)
    assert len(lines) == 3
    assert any(line.startswith(f"{path}: nation: ") for line in lines)
    assert f"{path}: stage \"informal\": to_role: unknown role 'nobody'" in "\n".join(lines)
    assert f'{path}: stage "stage_1": response_working_days: must be at most 60' in lines


def test_duplicate_stage_key(write_policy: WritePolicy) -> None:
    path = write_policy(minimal_policy().replace('key = "stage_2"', 'key = "stage_1"'))
    assert problems(path) == [
        f"{path}: stage \"stage_1\" (stages[2]): key: 'stage_1' is already the key of stages[1]"
    ]


def test_reentry_to_a_later_stage_is_allowed(write_policy: WritePolicy) -> None:
    # Seed 003, stage 1: when agreed actions are not delivered "the process moves directly to the next stage".
    text = minimal_policy().replace(
        'case_note = "Stage 1"', 'case_note = "Stage 1"\nreentry_stage = "stage_2"'
    )
    policy = policy_load_file(write_policy(text))
    assert policy.reentry_for("stage_1") == "stage_2"


def test_reentry_to_no_such_stage(write_policy: WritePolicy) -> None:
    text = minimal_policy().replace(
        'case_note = "Stage 2"', 'case_note = "Stage 2"\nreentry_stage = "stage_9"'
    )
    path = write_policy(text)
    assert problems(path) == [
        f"{path}: stage \"stage_2\": reentry_stage: 'stage_9' is not a stage of this policy"
    ]


def test_cpc_in_cafcass_tracks(write_policy: WritePolicy) -> None:
    path = write_policy(minimal_policy() + '\n[cafcass]\ntracks = ["iro", "cpc"]\n')
    [line] = problems(path)
    assert line.startswith(f"{path}: cafcass.tracks: only the IRO track may refer to Cafcass")
    assert "s25B(3)" in line


def test_cafcass_stage_that_does_not_exist(write_policy: WritePolicy) -> None:
    path = write_policy(minimal_policy() + '\n[cafcass]\nearliest_stage = "stage_4"\n')
    assert problems(path) == [f"{path}: cafcass.earliest_stage: 'stage_4' is not a stage of this policy"]


def test_cafcass_checklist_key_twice(write_policy: WritePolicy) -> None:
    item = '\n[[cafcass.checklist]]\nkey = "iro_report"\nlabel = "IRO report"\n'
    path = write_policy(minimal_policy() + item + item)
    assert problems(path) == [f"{path}: cafcass.checklist: the list names 'iro_report' twice"]


def test_copy_list_repeating_the_recipient(write_policy: WritePolicy) -> None:
    path = write_policy(
        minimal_policy().replace(
            'cc_roles = ["team_manager"]', 'cc_roles = ["team_manager", "social_worker"]'
        )
    )
    assert problems(path) == [f"{path}: stage \"informal\": cc_roles[1]: repeats to_role 'social_worker'"]


def test_informal_stage_after_a_formal_one(write_policy: WritePolicy) -> None:
    text = minimal_policy().replace(
        'kind = "formal"\nto_role = "service_manager"', 'kind = "informal"\nto_role = "service_manager"'
    )
    path = write_policy(text)
    assert problems(path) == [f'{path}: stage "stage_2": kind: an informal stage cannot follow a formal one']


def test_unknown_document(write_policy: WritePolicy) -> None:
    text = minimal_policy().replace(
        'case_note = "Stage 2"', 'case_note = "Stage 2"\ndocuments = ["briefing"]'
    )
    path = write_policy(text)
    [line] = problems(path)
    assert line.startswith(f"{path}: stage \"stage_2\": documents[0]: unknown document 'briefing'")


def test_misspelt_and_missing_fields(write_policy: WritePolicy) -> None:
    text = minimal_policy().replace('case_note = "Stage 1"', 'casenote = "Stage 1"')
    path = write_policy(text)
    assert problems(path) == [
        f'{path}: stage "stage_1": case_note: is required',
        f'{path}: stage "stage_1": casenote: is not a field of a policy '
        "(check the spelling and the table it sits in)",
    ]


def test_a_stage_without_a_key_is_named_by_position(write_policy: WritePolicy) -> None:
    path = write_policy(minimal_policy().replace('key = "stage_2"\n', ""))
    assert problems(path) == [f"{path}: stages[2]: key: is required"]


def test_toml_syntax_error_names_file_and_line(write_policy: WritePolicy) -> None:
    path = write_policy(minimal_policy().replace('name = "Stage 1"', 'name = "Stage 1'))
    [line] = problems(path)
    assert line.startswith(f"{path}: TOML syntax error: ")
    assert "(at line 20, column 16)" in line


def test_missing_file() -> None:
    [line] = problems(Path("/nonexistent/policy.toml"))
    assert line.startswith("/nonexistent/policy.toml: cannot be read: ")


def test_folder_refuses_two_files_with_one_key(write_policy: WritePolicy, tmp_path: Path) -> None:
    write_policy(minimal_policy(), name="a.toml")
    write_policy(minimal_policy(), name="b.toml")
    with pytest.raises(PolicyError) as caught:
        policy_load_dir(tmp_path)
    assert caught.value.problems == [
        f'{tmp_path / "b.toml"}: key: "testshire" is already the key of {tmp_path / "a.toml"}'
    ]


def test_folder_reports_every_broken_file(write_policy: WritePolicy, tmp_path: Path) -> None:
    write_policy(minimal_policy(key="one", days=0), name="one.toml")
    write_policy("key = ", name="two.toml")
    write_policy(minimal_policy(key="three"), name="three.toml")
    with pytest.raises(PolicyError) as caught:
        policy_load_dir(tmp_path)
    assert [line.split(":")[0] for line in caught.value.problems] == [
        str(tmp_path / "one.toml"),
        str(tmp_path / "two.toml"),
    ]


def test_folder_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="is not a folder of policy files"):
        policy_load_dir(tmp_path / "missing")
