"""Test set-up shared by every app. Shared fixtures live in resolve/testing/fixtures.py (registered below)."""

from __future__ import annotations

import os

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


pytest_plugins = ["resolve.testing.fixtures"]
