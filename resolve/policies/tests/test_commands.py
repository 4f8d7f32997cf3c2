"""The management commands: check_policy (validate files) and load_policies (record them)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from resolve.policies.selectors import policy_get
from resolve.policies.tests.conftest import POLICY_DIR, minimal_policy

WritePolicy = Callable[..., Path]


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_check_policy_accepts_every_shipped_file() -> None:
    files = sorted(str(path) for path in POLICY_DIR.glob("*.toml"))
    out, err = run("check_policy", *files)
    assert err == ""
    assert f"ok: {POLICY_DIR / 'national.toml'} (national v1)" in out.splitlines()
    assert len(out.splitlines()) == len(files)


def test_check_policy_prints_every_problem_and_fails(write_policy: WritePolicy) -> None:
    good = write_policy(minimal_policy(key="good"), name="good.toml")
    bad = write_policy(minimal_policy(key="bad", days=0), name="bad.toml")
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="1 of 2 policy files have problems") as caught:
        call_command("check_policy", str(good), str(bad), stdout=out, stderr=err)
    assert caught.value.returncode == 1
    assert out.getvalue() == f"ok: {good} (good v1)\n"
    assert err.getvalue() == f'{bad}: stage "stage_1": response_working_days: must be at least 1\n'


def test_check_policy_refuses_two_files_with_one_key(write_policy: WritePolicy) -> None:
    first = write_policy(minimal_policy(), name="a.toml")
    second = write_policy(minimal_policy(), name="b.toml")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("check_policy", str(first), str(second), stdout=StringIO(), stderr=err)
    assert err.getvalue() == f'{second}: key: "testshire" is already the key of {first}\n'


def test_check_policy_exit_codes_from_the_shell(write_policy: WritePolicy) -> None:
    bad = write_policy("key = \n", name="bad.toml")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    manage = str(Path(settings.BASE_DIR) / "manage.py")
    good = subprocess.run(
        [sys.executable, manage, "check_policy", str(POLICY_DIR / "national.toml")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert (good.returncode, good.stdout.strip()) == (0, f"ok: {POLICY_DIR / 'national.toml'} (national v1)")
    broken = subprocess.run(
        [sys.executable, manage, "check_policy", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert broken.returncode == 1
    assert f"{bad}: TOML syntax error: " in broken.stderr


@pytest.mark.django_db
def test_load_policies_records_and_reports(write_policy: WritePolicy, tmp_path: Path) -> None:
    write_policy(minimal_policy())
    out, _ = run("load_policies", "--dir", str(tmp_path))
    assert out == "recorded: testshire v1\n"
    out, _ = run("load_policies", "--dir", str(tmp_path))
    assert out == "unchanged: testshire v1\n"
    assert policy_get(key="testshire").version == 1


@pytest.mark.django_db
def test_load_policies_refuses_a_broken_folder(write_policy: WritePolicy, tmp_path: Path) -> None:
    write_policy(minimal_policy(days=0))
    with pytest.raises(
        CommandError, match=r"no policy was recorded:\n.*response_working_days: must be at least 1"
    ):
        run("load_policies", "--dir", str(tmp_path))


@pytest.mark.django_db
def test_load_policies_defaults_to_the_configured_folder() -> None:
    out, _ = run("load_policies")
    assert "unchanged: national v1" in out.splitlines()
