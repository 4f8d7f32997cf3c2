#!/usr/bin/env python3
"""Run pytest, and say loudly when it ran nothing.

    scripts/run_pytest.py [PYTEST ARGS...]

pytest exits 5 when it collects no test. That is accepted (exit 0, with a banner) only while the
tree holds no test file at all under the configured ``testpaths``, as in a new project. Once any
``test_*.py`` exists, collecting nothing means something is wrong (a broken ``-k``, a bad
``testpaths``, an import-time skip of everything) and the exit status stays 5.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NO_TESTS_COLLECTED = 5


def test_files() -> list[Path]:
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    patterns = options.get("python_files", ["test_*.py", "*_test.py"])
    found: list[Path] = []
    for top in options.get("testpaths", ["."]):
        for pattern in patterns:
            found.extend(path for path in (ROOT / top).rglob(pattern) if ".venv" not in path.parts)
    return found


def main(argv: list[str]) -> int:
    status = subprocess.call([sys.executable, "-m", "pytest", *argv], cwd=ROOT)
    if status != NO_TESTS_COLLECTED:
        return status
    files = test_files()
    if files:
        print(
            f"\nrun_pytest: pytest collected no test although {len(files)} test file(s) exist, "
            f"e.g. {files[0].relative_to(ROOT)}; failing.",
            file=sys.stderr,
        )
        return status
    print(
        "\n" + "!" * 72 + "\n!! run_pytest: NO TESTS EXIST YET: nothing was tested. Add tests under "
        "resolve/<app>/tests/.\n" + "!" * 72,
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
