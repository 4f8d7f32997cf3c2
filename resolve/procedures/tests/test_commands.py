"""The management commands: check_procedure (validate files) and load_procedures (record them)."""

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

from resolve.procedures.selectors import procedure_get
from resolve.procedures.tests.conftest import PROCEDURE_DIR, minimal_procedure

WriteProcedure = Callable[..., Path]


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_check_procedure_accepts_every_shipped_file() -> None:
    files = sorted(str(path) for path in PROCEDURE_DIR.glob("*.toml"))
    out, err = run("check_procedure", *files)
    assert err == ""
    assert f"ok: {PROCEDURE_DIR / 'national.toml'} (national v1)" in out.splitlines()
    assert len(out.splitlines()) == len(files)


def test_check_procedure_prints_every_problem_and_fails(write_procedure: WriteProcedure) -> None:
    good = write_procedure(minimal_procedure(key="good"), name="good.toml")
    bad = write_procedure(minimal_procedure(key="bad", days=0), name="bad.toml")
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="1 of 2 procedure files have problems") as caught:
        call_command("check_procedure", str(good), str(bad), stdout=out, stderr=err)
    assert caught.value.returncode == 1
    assert out.getvalue() == f"ok: {good} (good v1)\n"
    assert err.getvalue() == f'{bad}: stage "stage_1": response_working_days: must be at least 1\n'


def test_check_procedure_refuses_two_files_with_one_key(write_procedure: WriteProcedure) -> None:
    first = write_procedure(minimal_procedure(), name="a.toml")
    second = write_procedure(minimal_procedure(), name="b.toml")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("check_procedure", str(first), str(second), stdout=StringIO(), stderr=err)
    assert err.getvalue() == f'{second}: key: "testshire" is already the key of {first}\n'


def test_check_procedure_exit_codes_from_the_shell(write_procedure: WriteProcedure) -> None:
    bad = write_procedure("key = \n", name="bad.toml")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    manage = str(Path(settings.BASE_DIR) / "manage.py")
    good = subprocess.run(
        [sys.executable, manage, "check_procedure", str(PROCEDURE_DIR / "national.toml")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert (good.returncode, good.stdout.strip()) == (
        0,
        f"ok: {PROCEDURE_DIR / 'national.toml'} (national v1)",
    )
    broken = subprocess.run(
        [sys.executable, manage, "check_procedure", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert broken.returncode == 1
    assert f"{bad}: TOML syntax error: " in broken.stderr


@pytest.mark.django_db
def test_load_procedures_records_and_reports(write_procedure: WriteProcedure, tmp_path: Path) -> None:
    write_procedure(minimal_procedure())
    out, _ = run("load_procedures", "--dir", str(tmp_path))
    assert out == "recorded: testshire v1\n"
    out, _ = run("load_procedures", "--dir", str(tmp_path))
    assert out == "unchanged: testshire v1\n"
    assert procedure_get(key="testshire").version == 1


@pytest.mark.django_db
def test_load_procedures_refuses_a_broken_folder(write_procedure: WriteProcedure, tmp_path: Path) -> None:
    write_procedure(minimal_procedure(days=0))
    with pytest.raises(
        CommandError, match=r"no procedure was recorded:\n.*response_working_days: must be at least 1"
    ):
        run("load_procedures", "--dir", str(tmp_path))


@pytest.mark.django_db
def test_load_procedures_defaults_to_the_configured_folder() -> None:
    out, _ = run("load_procedures")
    assert "unchanged: national v1" in out.splitlines()
