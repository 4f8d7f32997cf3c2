"""procedure_sync: a changed file becomes a new current version; old versions are kept, never rewritten."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management.base import CommandError
from django.db.models.signals import post_migrate
from pytest_django.fixtures import Settings

from resolve.procedures.loader import ProcedureError
from resolve.procedures.models import PolicyVersion
from resolve.procedures.selectors import (
    procedure_get,
    procedure_list,
    procedure_version_list,
    procedure_version_model,
)
from resolve.procedures.services import procedure_document, procedure_sync
from resolve.procedures.tests.conftest import PROCEDURE_DIR, minimal_procedure

pytestmark = pytest.mark.django_db

WriteProcedure = Callable[..., Path]


def test_a_migrated_database_holds_every_shipped_procedure() -> None:
    shipped = sorted(path.stem for path in PROCEDURE_DIR.glob("*.toml"))
    assert [pv.key for pv in procedure_list()] == shipped
    national = procedure_get(key="national")
    assert (national.version, national.is_current, national.authority) == (
        1,
        True,
        "National default (IRO Handbook 2010)",
    )


def test_first_sync_records_version_one(write_procedure: WriteProcedure, tmp_path: Path) -> None:
    write_procedure(minimal_procedure())
    result = procedure_sync(tmp_path)
    [pv] = result.created
    assert (pv.key, pv.version, pv.is_current, pv.nation) == ("testshire", 1, True, "england-and-wales")
    assert pv.document["stages"][1]["key"] == "stage_1"
    assert len(pv.sha256) == 64
    assert result.unchanged == []


def test_unchanged_content_records_nothing(write_procedure: WriteProcedure, tmp_path: Path) -> None:
    write_procedure(minimal_procedure())
    procedure_sync(tmp_path)
    # Comments and layout are not content.
    write_procedure("# a comment\n\n" + minimal_procedure())
    result = procedure_sync(tmp_path)
    assert result.created == []
    assert [pv.version for pv in result.unchanged] == [1]
    assert PolicyVersion.objects.filter(key="testshire").count() == 1


def test_changed_content_with_a_higher_version_becomes_current(
    write_procedure: WriteProcedure, tmp_path: Path
) -> None:
    write_procedure(minimal_procedure())
    [first] = procedure_sync(tmp_path).created
    write_procedure(minimal_procedure(version=2, days=7))
    [second] = procedure_sync(tmp_path).created
    assert second.version == 2
    assert procedure_get(key="testshire").pk == second.pk
    first.refresh_from_db()
    assert first.is_current is False
    assert first.document["stages"][1]["response_working_days"] == 5
    assert [pv.version for pv in procedure_version_list(key="testshire")] == [2, 1]
    assert procedure_version_model(procedure_get(key="testshire")).stage("stage_1").response_working_days == 7


def test_changed_content_with_the_same_version_is_refused(
    write_procedure: WriteProcedure, tmp_path: Path
) -> None:
    write_procedure(minimal_procedure())
    procedure_sync(tmp_path)
    path = write_procedure(minimal_procedure(days=7))
    with pytest.raises(ProcedureError) as caught:
        procedure_sync(tmp_path)
    assert caught.value.problems == [
        f"{path}: version: the content of procedure 'testshire' differs from its recorded version 1, "
        "but the file declares version 1; recorded versions are never changed, "
        "so set version = 2 to record the change"
    ]
    assert PolicyVersion.objects.filter(key="testshire").count() == 1


def test_changed_content_with_a_lower_version_is_refused(
    write_procedure: WriteProcedure, tmp_path: Path
) -> None:
    write_procedure(minimal_procedure(version=3))
    procedure_sync(tmp_path)
    write_procedure(minimal_procedure(version=2, days=7))
    with pytest.raises(ProcedureError, match=r"declares version 2; .* set version = 4"):
        procedure_sync(tmp_path)


def test_a_refused_file_records_nothing_from_the_whole_folder(
    write_procedure: WriteProcedure, tmp_path: Path
) -> None:
    write_procedure(minimal_procedure(key="alpha"), name="alpha.toml")
    write_procedure(minimal_procedure(key="beta"), name="beta.toml")
    procedure_sync(tmp_path)
    write_procedure(minimal_procedure(key="alpha", version=2, days=7), name="alpha.toml")
    write_procedure(minimal_procedure(key="beta", days=7), name="beta.toml")  # same version: refused
    with pytest.raises(ProcedureError):
        procedure_sync(tmp_path)
    assert procedure_get(key="alpha").version == 1
    assert PolicyVersion.objects.filter(key__in=["alpha", "beta"]).count() == 2


def test_an_invalid_file_records_nothing(write_procedure: WriteProcedure, tmp_path: Path) -> None:
    write_procedure(minimal_procedure(key="alpha"), name="alpha.toml")
    write_procedure(minimal_procedure(key="beta", days=0), name="beta.toml")
    with pytest.raises(ProcedureError, match='stage "stage_1": response_working_days: must be at least 1'):
        procedure_sync(tmp_path)
    assert not PolicyVersion.objects.filter(key="alpha").exists()


def test_the_hash_is_of_the_validated_content(write_procedure: WriteProcedure, tmp_path: Path) -> None:
    write_procedure(minimal_procedure())
    [pv] = procedure_sync(tmp_path).created
    assert pv.sha256 == procedure_document(procedure_version_model(pv))[1]


def test_the_parsed_model_is_cached_per_version() -> None:
    pv = procedure_get(key="challenge_and_resolution")
    assert procedure_version_model(pv) is procedure_version_model(
        procedure_get(key="challenge_and_resolution")
    )
    assert len(procedure_version_model(pv).cafcass.checklist) == 7


def test_post_migrate_syncs_the_configured_folder(
    write_procedure: WriteProcedure, tmp_path: Path, settings: Settings
) -> None:
    write_procedure(minimal_procedure(key="migrated"))
    settings.RESOLVE_POLICY_DIR = tmp_path
    config = apps.get_app_config("policies")
    post_migrate.send(sender=config, app_config=config, using="default", verbosity=0, interactive=False)
    assert procedure_get(key="migrated").version == 1


def test_post_migrate_refuses_a_broken_folder_clearly(
    write_procedure: WriteProcedure, tmp_path: Path, settings: Settings
) -> None:
    write_procedure(minimal_procedure(key="broken", days=0))
    settings.RESOLVE_POLICY_DIR = tmp_path
    config = apps.get_app_config("policies")
    with pytest.raises(CommandError, match=r"RESOLVE_POLICY_DIR .* have problems.*\n.*must be at least 1"):
        post_migrate.send(sender=config, app_config=config, using="default", verbosity=0, interactive=False)
    assert not PolicyVersion.objects.filter(key="broken").exists()


def test_schema_helpers_on_a_shipped_procedure() -> None:
    procedure = procedure_version_model(procedure_get(key="qa_issue_resolution"))
    assert procedure.order("stage_3_level_1") == 3
    next_stage = procedure.next_stage("stage_3_level_1")
    assert next_stage is not None and next_stage.key == "stage_3_level_2"
    assert procedure.next_stage("stage_3_level_4") is None
    assert procedure.has_stage("stage_2") and not procedure.has_stage("stage_4")
    assert procedure.reentry_for("stage_3_level_2") == "stage_3_level_2"
    assert procedure.theme_keys() == {
        "voice_of_child",
        "drift_delay_planning",
        "management_oversight",
        "drift_delay_legal",
        "placement",
        "safeguarding",
    }
