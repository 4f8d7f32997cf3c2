"""Each of Resolve's settings has one default, in config/settings.py; code reads it through conf."""

from __future__ import annotations

import ast
from pathlib import Path

from django.test import override_settings

from resolve.core.conf import conf

RESOLVE = Path(__file__).resolve().parents[2]


def test_every_setting_conf_reads_is_defined_with_its_one_default():
    for name in dir(type(conf)):
        if not name.startswith("_"):
            getattr(conf, name)  # raises AttributeError if config/settings.py lacks it


def test_conf_sees_a_test_override():
    with override_settings(RESOLVE_DELIVER_ON_COMMIT=False, RESOLVE_BASE_URL="https://resolve.example/"):
        assert conf.deliver_on_commit is False
        assert conf.base_url == "https://resolve.example"


def test_no_code_reads_a_setting_with_a_default_of_its_own():
    offenders = []
    for path in RESOLVE.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "getattr"
                and len(node.args) == 3
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id == "settings"
            ):
                offenders.append(f"{path.relative_to(RESOLVE.parent)}:{node.lineno}")
    assert offenders == []
