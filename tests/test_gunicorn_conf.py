"""The production web server's settings (gunicorn.conf.py), read as gunicorn reads them.

docs/deploying.md: workers sized to the cores (two per core and one more), one request at a time per
worker behind a buffering proxy, the production settings unless the environment names others.
"""

from __future__ import annotations

import gc
import os
import runpy
from pathlib import Path
from typing import Any

import pytest
from gunicorn.config import KNOWN_SETTINGS

CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"
# What the file computes for itself rather than hands to gunicorn.
HELPERS = {"annotations", "gc", "os", "Any", "cores"}


def _read(monkeypatch: pytest.MonkeyPatch, **environ: str) -> dict[str, Any]:
    for name in ("WEB_CONCURRENCY", "DJANGO_SETTINGS_MODULE", "RESOLVE_BIND", "RESOLVE_GC_FREEZE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return {
        name: value
        for name, value in runpy.run_path(str(CONF)).items()
        if not name.startswith("_") and name not in HELPERS
    }


def test_every_setting_is_one_gunicorn_knows(monkeypatch: pytest.MonkeyPatch) -> None:
    known = {setting.name for setting in KNOWN_SETTINGS}
    assert set(_read(monkeypatch)) <= known


def test_workers_are_sized_to_the_cores_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    found = _read(monkeypatch)
    cores = len(os.sched_getaffinity(0))
    assert found["workers"] == 2 * cores + 1
    assert found["worker_class"] == "sync"
    assert found["preload_app"] is True
    assert found["bind"] == "127.0.0.1:8000"  # loopback: the proxy in front is what the world sees


def test_the_environment_changes_the_sizing_and_the_address(monkeypatch: pytest.MonkeyPatch) -> None:
    found = _read(monkeypatch, WEB_CONCURRENCY="3", RESOLVE_BIND="127.0.0.1:8153")
    assert found["workers"] == 3 and found["bind"] == "127.0.0.1:8153"


def test_production_settings_unless_the_environment_names_others(monkeypatch: pytest.MonkeyPatch) -> None:
    _read(monkeypatch)
    assert os.environ["DJANGO_SETTINGS_MODULE"] == "config.settings_production"
    _read(monkeypatch, DJANGO_SETTINGS_MODULE="authority.settings")
    assert os.environ["DJANGO_SETTINGS_MODULE"] == "authority.settings"


def test_what_is_loaded_before_the_fork_is_out_of_the_collectors_reach(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gc.unfreeze()
    try:
        _read(monkeypatch)["pre_fork"](None, None)
        frozen = gc.get_freeze_count()
        gc.unfreeze()
        _read(monkeypatch, RESOLVE_GC_FREEZE="0")["pre_fork"](None, None)
        assert frozen > 0 and gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()
