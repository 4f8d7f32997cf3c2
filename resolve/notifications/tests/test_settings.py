"""The worker's settings read at start-up: their defaults, and a claim that could not outlive a send."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
NAMES = ("EMAIL_TIMEOUT", "RESOLVE_OUTBOX_CLAIM_TIMEOUT_SECONDS", "RESOLVE_SWEEP_")


def _settings_import(**env: str) -> subprocess.CompletedProcess[str]:
    """Import the real settings in a fresh interpreter with this environment (start-up, as deployed)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(NAMES)}
    code = (
        "import config.settings as s; print(s.EMAIL_TIMEOUT, s.RESOLVE_SWEEP_LEASE_SECONDS, "
        "s.RESOLVE_SWEEP_BATCH_SIZE, s.RESOLVE_SWEEP_STALE_MINUTES)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DEBUG": "true", "SECRET_KEY": "x", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_defaults_and_the_stale_period_follows_the_sweep_interval() -> None:
    result = _settings_import()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["30", "120", "500", "15"]
    result = _settings_import(RESOLVE_SWEEP_INTERVAL_SECONDS="600", EMAIL_TIMEOUT="10")
    assert result.stdout.split() == ["10", "120", "500", "30"]


def test_a_claim_shorter_than_a_send_stops_start_up_naming_both_variables() -> None:
    result = _settings_import(EMAIL_TIMEOUT="200")
    assert result.returncode != 0
    assert "RESOLVE_OUTBOX_CLAIM_TIMEOUT_SECONDS must be more than four times EMAIL_TIMEOUT" in result.stderr
