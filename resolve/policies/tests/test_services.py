"""policy_sync: a changed file becomes a new current version; old versions are kept, never rewritten."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management.base import CommandError
from django.db.models.signals import post_migrate
from pytest_django.fixtures import Settings

from resolve.policies.loader import PolicyError
from resolve.policies.models import PolicyVersion
from resolve.policies.selectors import policy_get, policy_list, policy_version_list, policy_version_model
from resolve.policies.services import policy_document, policy_sync
from resolve.policies.tests.conftest import POLICY_DIR, minimal_policy

pytestmark = pytest.mark.django_db

WritePolicy = Callable[..., Path]


def test_a_migrated_database_holds_every_shipped_policy() -> None:
    shipped = sorted(path.stem for path in POLICY_DIR.glob("*.toml"))
    assert [pv.key for pv in policy_list()] == shipped
    national = policy_get(key="national")
    assert (national.version, national.is_current, national.authority) == (
        1,
        True,
        "National default (IRO Handbook 2010)",
    )


def test_first_sync_records_version_one(write_policy: WritePolicy, tmp_path: Path) -> None:
    write_policy(minimal_policy())
    result = policy_sync(tmp_path)
    [pv] = result.created
    assert (pv.key, pv.version, pv.is_current, pv.nation) == ("testshire", 1, True, "england-and-wales")
    assert pv.document["stages"][1]["key"] == "stage_1"
    assert len(pv.sha256) == 64
    assert result.unchanged == []


def test_unchanged_content_records_nothing(write_policy: WritePolicy, tmp_path: Path) -> None:
    write_policy(minimal_policy())
    policy_sync(tmp_path)
    # Comments and layout are not content.
    write_policy("# a comment\n\n" + minimal_policy())
    result = policy_sync(tmp_path)
    assert result.created == []
    assert [pv.version for pv in result.unchanged] == [1]
    assert PolicyVersion.objects.filter(key="testshire").count() == 1


def test_changed_content_with_a_higher_version_becomes_current(
    write_policy: WritePolicy, tmp_path: Path
) -> None:
    write_policy(minimal_policy())
    [first] = policy_sync(tmp_path).created
    write_policy(minimal_policy(version=2, days=7))
    [second] = policy_sync(tmp_path).created
    assert second.version == 2
    assert policy_get(key="testshire").pk == second.pk
    first.refresh_from_db()
    assert first.is_current is False
    assert first.document["stages"][1]["response_working_days"] == 5
    assert [pv.version for pv in policy_version_list(key="testshire")] == [2, 1]
    assert policy_version_model(policy_get(key="testshire")).stage("stage_1").response_working_days == 7


def test_changed_content_with_the_same_version_is_refused(write_policy: WritePolicy, tmp_path: Path) -> None:
    write_policy(minimal_policy())
    policy_sync(tmp_path)
    path = write_policy(minimal_policy(days=7))
    with pytest.raises(PolicyError) as caught:
        policy_sync(tmp_path)
    assert caught.value.problems == [
        f"{path}: version: the content of policy 'testshire' differs from its recorded version 1, "
        "but the file declares version 1; recorded versions are never changed, "
        "so set version = 2 to record the change"
    ]
    assert PolicyVersion.objects.filter(key="testshire").count() == 1


def test_changed_content_with_a_lower_version_is_refused(write_policy: WritePolicy, tmp_path: Path) -> None:
    write_policy(minimal_policy(version=3))
    policy_sync(tmp_path)
    write_policy(minimal_policy(version=2, days=7))
    with pytest.raises(PolicyError, match=r"declares version 2; .* set version = 4"):
        policy_sync(tmp_path)


def test_a_refused_file_records_nothing_from_the_whole_folder(
    write_policy: WritePolicy, tmp_path: Path
) -> None:
    write_policy(minimal_policy(key="alpha"), name="alpha.toml")
    write_policy(minimal_policy(key="beta"), name="beta.toml")
    policy_sync(tmp_path)
    write_policy(minimal_policy(key="alpha", version=2, days=7), name="alpha.toml")
    write_policy(minimal_policy(key="beta", days=7), name="beta.toml")  # same version: refused
    with pytest.raises(PolicyError):
        policy_sync(tmp_path)
    assert policy_get(key="alpha").version == 1
    assert PolicyVersion.objects.filter(key__in=["alpha", "beta"]).count() == 2


def test_an_invalid_file_records_nothing(write_policy: WritePolicy, tmp_path: Path) -> None:
    write_policy(minimal_policy(key="alpha"), name="alpha.toml")
    write_policy(minimal_policy(key="beta", days=0), name="beta.toml")
    with pytest.raises(PolicyError, match='stage "stage_1": response_working_days: must be at least 1'):
        policy_sync(tmp_path)
    assert not PolicyVersion.objects.filter(key="alpha").exists()


def test_the_hash_is_of_the_validated_content(write_policy: WritePolicy, tmp_path: Path) -> None:
    write_policy(minimal_policy())
    [pv] = policy_sync(tmp_path).created
    assert pv.sha256 == policy_document(policy_version_model(pv))[1]


def test_the_parsed_model_is_cached_per_version() -> None:
    pv = policy_get(key="challenge_and_resolution")
    assert policy_version_model(pv) is policy_version_model(policy_get(key="challenge_and_resolution"))
    assert len(policy_version_model(pv).cafcass.checklist) == 7


def test_post_migrate_syncs_the_configured_folder(
    write_policy: WritePolicy, tmp_path: Path, settings: Settings
) -> None:
    write_policy(minimal_policy(key="migrated"))
    settings.RESOLVE_POLICY_DIR = tmp_path
    config = apps.get_app_config("policies")
    post_migrate.send(sender=config, app_config=config, using="default", verbosity=0, interactive=False)
    assert policy_get(key="migrated").version == 1


def test_post_migrate_refuses_a_broken_folder_clearly(
    write_policy: WritePolicy, tmp_path: Path, settings: Settings
) -> None:
    write_policy(minimal_policy(key="broken", days=0))
    settings.RESOLVE_POLICY_DIR = tmp_path
    config = apps.get_app_config("policies")
    with pytest.raises(CommandError, match=r"RESOLVE_POLICY_DIR .* have problems.*\n.*must be at least 1"):
        post_migrate.send(sender=config, app_config=config, using="default", verbosity=0, interactive=False)
    assert not PolicyVersion.objects.filter(key="broken").exists()


def test_schema_helpers_on_a_shipped_policy() -> None:
    policy = policy_version_model(policy_get(key="qa_issue_resolution"))
    assert policy.order("stage_3_level_1") == 3
    next_stage = policy.next_stage("stage_3_level_1")
    assert next_stage is not None and next_stage.key == "stage_3_level_2"
    assert policy.next_stage("stage_3_level_4") is None
    assert policy.has_stage("stage_2") and not policy.has_stage("stage_4")
    assert policy.reentry_for("stage_3_level_2") == "stage_3_level_2"
    assert policy.theme_keys() == {
        "voice_of_child",
        "drift_delay_planning",
        "management_oversight",
        "drift_delay_legal",
        "placement",
        "safeguarding",
    }
