"""A benchmark's PostgreSQL side: the same script run again in a child process against a throwaway
server (``scripts/with_postgres.py``), answering its figures as one line of JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HELPER = ROOT / "scripts" / "with_postgres.py"


def figures_on_postgres(script: str, flag: str, *, indent: str = "") -> dict[str, Any] | None:
    """Run ``script flag`` under ``with_postgres.py`` and answer the last JSON line it printed; None
    when this machine has no PostgreSQL server binaries or the run failed (its output is printed)."""
    available = subprocess.run([sys.executable, str(HELPER), "--available"], check=False)  # noqa: S603
    if available.returncode != 0:
        return None
    answer = subprocess.run(  # noqa: S603
        [sys.executable, str(HELPER), "--", sys.executable, script, flag],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    lines = [line for line in answer.stdout.splitlines() if line.startswith("{")]
    if answer.returncode != 0 or not lines:
        print(f"{indent}PostgreSQL run failed:\n{answer.stdout[-2000:]}\n{answer.stderr[-2000:]}")
        return None
    result: dict[str, Any] = json.loads(lines[-1])
    return result
