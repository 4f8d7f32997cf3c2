"""The demo authority built from the sample LCS-style and Mosaic-style exports instead of by hand.

Teams, staff, posts and children come in through the import (``records_import``), as a real
authority's would (the Mosaic-style workbook adds a second set of teams and children); the
challenges are then raised on the LCS children by the same demo scenarios ``load_demo`` uses
(``resolve.challenges.demo.demo_build``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import transaction

from resolve.casesystem.mapping import mapping_load
from resolve.casesystem.services import ImportReport, records_import
from resolve.challenges.demo import DemoSummary, demo_build
from resolve.children.models import Child
from resolve.people.demo import CHAIRS_TEAM, SECOND_TEAM, SOCIAL_WORK_TEAM, Authority
from resolve.people.models import Post, Team

SAMPLES = Path(__file__).resolve().parent / "samples"


@transaction.atomic
def demo_from_samples(*, password: str | None, today: dt.date) -> tuple[ImportReport, DemoSummary | None]:
    """Import the sample LCS export as the demo's administrator, give everyone the demo password, and
    raise the demo's challenges on the imported children (unless children were already recorded)."""
    hashed = make_password(password) if password else make_password(None)
    admin, created = User.objects.get_or_create(
        username="admin",
        defaults={
            "first_name": "Adam",
            "last_name": "Brown",
            "email": "admin@resolve.invalid",
            "is_staff": True,
        },
    )
    if created or password:
        admin.password = hashed
        admin.is_staff = admin.is_superuser = True
        admin.save()
    Post.objects.get_or_create(user=admin, role="admin", team=None)
    had_children = Child.objects.exists()
    folder = SAMPLES / "lcs"
    report = records_import(
        user=admin,
        mapping=mapping_load("lcs-example"),
        files=[(path.name, path.read_bytes()) for path in sorted(folder.iterdir()) if path.suffix == ".csv"],
        apply=True,
    )
    if not report.applied:
        return report, None
    # A second authority's Mosaic-style workbook beside it: more teams, staff and children.
    workbook = SAMPLES / "mosaic" / "mosaic_export.xlsx"
    mosaic = records_import(
        user=admin,
        mapping=mapping_load("mosaic-example"),
        files=[(workbook.name, workbook.read_bytes())],
        apply=True,
    )
    if not mosaic.applied:
        return mosaic, None
    staff = {user.username: user for user in User.objects.filter(is_active=True)}
    if password:
        User.objects.filter(is_superuser=False, is_active=True).update(password=hashed)
    if had_children:
        return report, None
    teams = {team.name: team for team in Team.objects.all()}
    authority = Authority(
        teams={
            "social_work": teams[SOCIAL_WORK_TEAM],
            "second": teams[SECOND_TEAM],
            "chairs": teams[CHAIRS_TEAM],
        },
        staff=staff,
    )
    children = list(Child.objects.filter(case_number__startswith="LCS2001").order_by("case_number"))
    return report, demo_build(authority=authority, today=today, children=children)
