"""Test set-up shared by every app. App-specific factories and fixtures live in each app's tests/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# CI machines are slower and busier than a laptop: no per-example deadline there, no example
# database left behind, and a failing example printed so it can be replayed locally.
settings.register_profile(
    "ci",
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def chromium_path() -> Path | None:
    """The headless browser the ``browser`` tests drive: $RESOLVE_CHROMIUM, else Debian's chromium."""
    configured = os.environ.get("RESOLVE_CHROMIUM")
    if configured:
        return Path(configured)
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return Path(found) if found else None


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Path to the Chromium binary; browser tests skip (or fail on CI) when there is none."""
    path = chromium_path()
    if path is None or not path.exists():
        message = "Chromium not found: run `make setup` or set RESOLVE_CHROMIUM"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


pytest_plugins = ["resolve.testing.fixtures"]
