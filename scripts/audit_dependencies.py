"""Check the pinned dependencies against known vulnerabilities with pip-audit.

A package that cannot be checked (the vulnerability service is out of reach, as on a machine
without internet access) is not a clean one: this says so loudly. Found vulnerabilities always
fail; packages that could not be checked fail only with REQUIRE_AUDIT=1 (set it where the service
is reachable, e.g. in a release pipeline), so `make check` stays useful offline without lying.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = [
    str(ROOT / ".venv" / "bin" / "pip-audit"),
    "--progress-spinner",
    "off",
    "--no-deps",
    "--disable-pip",
    "-r",
    str(ROOT / "requirements.txt"),
    # pip-audit does not follow the dev lock's own "-r requirements.txt": name both.
    "-r",
    str(ROOT / "requirements-dev.txt"),
]


def main() -> int:
    result = subprocess.run(COMMAND, capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    unchecked = [line for line in output.splitlines() if "could not be audited" in line]
    if result.returncode != 0:
        print(output, file=sys.stderr)
        return result.returncode
    if unchecked:
        print(
            f"WARNING: {len(unchecked)} dependencies could NOT be audited (no vulnerability data reachable):"
        )
        for line in unchecked[:5]:
            print(f"  {line.split(':', 2)[-1].strip()}")
        if os.environ.get("REQUIRE_AUDIT") == "1":
            return 1
        print("  Not failing: set REQUIRE_AUDIT=1 where the vulnerability service is reachable.")
        return 0
    print("pip-audit: no known vulnerabilities in requirements.txt or requirements-dev.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
