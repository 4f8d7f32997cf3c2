"""scripts/check_chokepoint.py finds direct reads, and only those, so `make check` cannot silently pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

SCRIPT = Path(settings.BASE_DIR, "scripts", "check_chokepoint.py")

SERVICES = """\
from resolve.challenges.models import Challenge
from resolve.children.models import Child


def thing_create(*, case_number: str) -> Child:
    Challenge.objects.create(concern="allowed: a write")
    Challenge.objects.bulk_create([])
    return Child.objects.filter(case_number=case_number).get()
"""
SELECTORS = """\
from resolve.children.models import Child


def thing_list():
    return Child.objects.all()
"""


def _run(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(root)], capture_output=True, text=True, timeout=60
    )


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_it_finds_the_read_and_lets_the_write_and_the_selector_be(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"resolve/things/services.py": SERVICES, "resolve/things/selectors.py": SELECTORS})
    done = _run(root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "resolve/things/services.py:8: Child.objects read; use children_visible_to / child_get_for_user"
    ]


def test_a_clean_tree_passes(tmp_path: Path) -> None:
    through_the_chokepoint = SERVICES.replace("Child.objects.filter(", "children_visible_to(user).filter(")
    root = _tree(tmp_path, {"resolve/things/services.py": through_the_chokepoint})
    done = _run(root)
    assert (done.returncode, done.stdout) == (0, ""), done.stdout + done.stderr


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("from resolve.children.models import CaseNote as Note\nNote.objects.all()\n", 2),
        ("from resolve.challenges.models import Challenge\nChallenge._default_manager.get(pk=1)\n", 2),
        ("from resolve.children.models import Child\nChild.objects.raw('SELECT 1')\n", 2),
        ("from resolve.children import models\n\nmodels.Child.objects.count()\n", 3),
        (
            "from django.shortcuts import get_object_or_404\n"
            "from resolve.challenges.models import Challenge\n"
            "get_object_or_404(Challenge, pk=1)\n",
            3,
        ),
        ("from resolve.children.models import Child\nChild.objects.get_or_create(pk=1)\n", 2),
    ],
)
def test_every_way_past_the_chokepoint_is_found(tmp_path: Path, source: str, line: int) -> None:
    done = _run(_tree(tmp_path, {"config/views.py": source}))
    assert done.returncode == 1
    assert [row.split(": ")[0] for row in done.stdout.splitlines()] == [f"config/views.py:{line}"]


def test_the_allow_list_is_kept_to_the_places_that_must(tmp_path: Path) -> None:
    read = "from resolve.children.models import Child\nChild.objects.all()\n"
    allowed = [
        "resolve/access/scoping.py",
        "resolve/children/models.py",
        "resolve/children/migrations/0001_initial.py",
        "resolve/children/tests/test_x.py",
        "resolve/audit/verify.py",
    ]
    refused = [
        "resolve/children/services.py",
        "resolve/web/views.py",
        "resolve/audit/services.py",
        "resolve/audit/chain.py",
    ]
    done = _run(_tree(tmp_path, dict.fromkeys(allowed + refused, read)))
    assert sorted(row.split(":")[0] for row in done.stdout.splitlines()) == sorted(refused)
