#!/usr/bin/env python3
"""Write the two lock files from requirements.in and requirements-dev.in.

    .venv/bin/python scripts/lock_requirements.py            # keep today's pins where the .in files allow
    .venv/bin/python scripts/lock_requirements.py --upgrade  # newest releases of everything not in a .in file
    .venv/bin/python scripts/lock_requirements.py --check    # exit 1 if the lock files are out of date

``requirements.txt`` is the runtime lock: requirements.in and everything it pulls in, the only file
production installs. ``requirements-dev.txt`` starts with ``-r requirements.txt`` and pins the rest of
what requirements-dev.in pulls in, resolved together with the runtime pins, so every package is pinned
exactly once and the two files always install together.

pip's own resolver does the work (``pip install --dry-run --ignore-installed --report``), nothing is
installed. It resolves for the interpreter running this script, so run it with the project's
``.venv`` (the Python production runs). pip itself is the virtualenv's and is not pinned, as in
``pip freeze``.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_IN = ROOT / "requirements.in"
DEV_IN = ROOT / "requirements-dev.in"
RUNTIME_LOCK = ROOT / "requirements.txt"
DEV_LOCK = ROOT / "requirements-dev.txt"
# The installer's own packages: pip freeze leaves them out, and so do the locks.
NOT_PINNED = {"pip", "setuptools", "wheel"}

RUNTIME_HEADER = """\
# The runtime lock: requirements.in and everything it pulls in, pinned. Production installs this file
# and nothing else (docs/deploying.md). Written by scripts/lock_requirements.py: edit requirements.in
# and run it, never this file by hand.
"""
DEV_HEADER = """\
# The development lock: requirements-dev.in and everything it pulls in beyond requirements.txt,
# pinned. `make setup` installs this file, which includes the runtime lock. Written by
# scripts/lock_requirements.py: edit requirements-dev.in and run it, never this file by hand.
-r requirements.txt
"""

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """``{normalised name: "Name==version"}`` for the pinned lines of a lock file."""
    found: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if match := PIN.match(line):
                found[normalise(match.group(1))] = f"{match.group(1)}=={match.group(2)}"
    return found


def direct_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        if (match := NAME.match(line.strip())) and not line.lstrip().startswith("#"):
            names.add(normalise(match.group(1)))
    return names


def resolve(requirement_files: list[Path], constraints: list[str]) -> dict[str, str]:
    """What pip would install for these files in an empty environment, as ``{name: "Name==version"}``."""
    with tempfile.TemporaryDirectory() as scratch:
        constraints_file = Path(scratch) / "constraints.txt"
        constraints_file.write_text("".join(f"{pin}\n" for pin in constraints))
        report = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
        command += ["--disable-pip-version-check", "--report", str(report), "-c", str(constraints_file)]
        for path in requirement_files:
            command += ["-r", str(path)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            print(result.stdout + result.stderr, file=sys.stderr)
            print("lock_requirements: pip could not resolve; with --upgrade it drops the old pins.")
            raise SystemExit(result.returncode)
        installs = json.loads(report.read_text())["install"]
    resolved = {}
    for item in installs:
        name, version = item["metadata"]["name"], item["metadata"]["version"]
        if normalise(name) not in NOT_PINNED:
            resolved[normalise(name)] = f"{name}=={version}"
    return resolved


def render(header: str, lines: list[str]) -> str:
    return header + "".join(f"{line}\n" for line in sorted(lines, key=str.lower))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--upgrade", action="store_true", help="forget the current pins of indirect packages")
    parser.add_argument("--check", action="store_true", help="write nothing; fail if the locks are stale")
    args = parser.parse_args()

    # Keep the pins already locked unless a .in file names the package (its own pin wins there).
    direct = direct_names(RUNTIME_IN) | direct_names(DEV_IN)
    kept = {} if args.upgrade else {**pins(RUNTIME_LOCK), **pins(DEV_LOCK)}
    kept = {name: pin for name, pin in kept.items() if name not in direct}

    runtime = resolve([RUNTIME_IN], list(kept.values()))
    # The tools are resolved on top of the runtime pins, so the runtime lock is what both install.
    everything = resolve([RUNTIME_IN, DEV_IN], [*kept.values(), *runtime.values()])
    development = {name: pin for name, pin in everything.items() if name not in runtime}

    wanted = {
        RUNTIME_LOCK: render(RUNTIME_HEADER, list(runtime.values())),
        DEV_LOCK: render(DEV_HEADER, list(development.values())),
    }
    stale = [path for path, text in wanted.items() if not path.exists() or path.read_text() != text]
    if args.check:
        for path in stale:
            current = path.read_text().splitlines(keepends=True) if path.exists() else []
            diff = difflib.unified_diff(current, wanted[path].splitlines(keepends=True), path.name, "wanted")
            sys.stdout.writelines(diff)
        if stale:
            print("lock_requirements: the lock files are out of date; run scripts/lock_requirements.py")
        return 1 if stale else 0
    for path in stale:
        path.write_text(wanted[path])
        print(f"lock_requirements: wrote {path.name}")
    print(f"{len(runtime)} runtime and {len(development)} development packages pinned.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
