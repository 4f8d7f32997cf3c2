from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings

PROCEDURE_DIR = Path(settings.RESOLVE_POLICY_DIR)

# A small valid procedure; tests break one thing in it at a time.
MINIMAL = """\
key = "{key}"
version = {version}
name = "Test procedure"
authority = "Testshire"
nation = "england-and-wales"
source = "Written for the tests"
tracks = ["iro", "cpc"]

[[stages]]
key = "informal"
name = "Informal"
kind = "informal"
to_role = "social_worker"
cc_roles = ["team_manager"]
response_working_days = 5
case_note = "Informal challenge"

[[stages]]
key = "stage_1"
name = "Stage 1"
kind = "formal"
to_role = "team_manager"
response_working_days = {days}
case_note = "Stage 1"

[[stages]]
key = "stage_2"
name = "Stage 2"
kind = "formal"
to_role = "service_manager"
response_working_days = 5
case_note = "Stage 2"
"""


def minimal_procedure(*, key: str = "testshire", version: int = 1, days: int = 5) -> str:
    return MINIMAL.format(key=key, version=version, days=days)


@pytest.fixture
def write_procedure(tmp_path: Path) -> Callable[..., Path]:
    """Write TOML text to ``<tmp_path>/<name>`` and return the path."""

    def write(text: str, name: str = "testshire.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
