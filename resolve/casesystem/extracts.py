"""Nightly extracts for the authority's data warehouse: the tables the reports use, as CSV.

Each table's columns are declared once here (``TABLES``), with a type and a description: the CSV
headings, the ``manifest.json`` written with every run and ``docs/case-system.md`` all say the same.
Column names are a promise: columns may be added at the end, never renamed or removed.

Reference tables (teams, staff, posts, children) are written whole every run. Challenges and their
parts are incremental by a change cursor: a challenge changed since the last run (every change to a
challenge moves its ``updated_at``) is written with its stage visits, actions and Cafcass referral
(a referral of a child's case with no challenge, in the run after it was made); events are written
from the last run's newest id. Load by ``id`` (an upsert): a row can come again in a later run,
because each run starts a few minutes before the last one ended, so that a change committed late is
never missed.

Only the records the account running it may see are written; each child and challenge written is
logged against that account. No free text (concerns, comments, case-note bodies) and no child's name
or date of birth goes into an extract.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from resolve.access import challenges_visible_to, children_visible_to, records_viewed
from resolve.casesystem.models import ExtractRun
from resolve.challenges.models import Action, CafcassReferral, Event, StageVisit
from resolve.core.errors import ServiceError
from resolve.people.models import Post, Team

# Each run starts this far before the last one's cursor, for changes committed while it ran.
OVERLAP = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # integer, text, date (YYYY-MM-DD), timestamp (ISO 8601, UTC), boolean (true/false)
    description: str
    value: Callable[[Any], Any]


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    incremental: bool
    columns: tuple[Column, ...]


def _attribute(name: str) -> Callable[[Any], Any]:
    def value(row: Any) -> Any:
        return getattr(row, name)

    return value


def _c(name: str, type_: str, description: str, value: Callable[[Any], Any] | None = None) -> Column:
    return Column(name, type_, description, value or _attribute(name))


def _legal_status(child: Any) -> str:
    try:
        return str(child.legal_status.status)
    except ObjectDoesNotExist:
        return ""


TABLES: tuple[Table, ...] = (
    Table(
        "teams",
        "Every team (whole, every run).",
        False,
        (
            _c("id", "integer", "Resolve's id for the team."),
            _c("name", "text", "The team's name."),
            _c("kind", "text", "social_work, or chairs (the IRO/CP Chairs service)."),
        ),
    ),
    Table(
        "staff",
        "Every member of staff (whole, every run).",
        False,
        (
            _c("id", "integer", "Resolve's id for the person."),
            _c("username", "text", "Their username (the case system's worker id when imported)."),
            _c("name", "text", "Their full name.", lambda u: u.get_full_name()),
            _c("active", "boolean", "false once they have left.", lambda u: u.is_active),
        ),
    ),
    Table(
        "posts",
        "Who holds which role where (whole, every run).",
        False,
        (
            _c("id", "integer", "Resolve's id for the post."),
            _c("staff_id", "integer", "staff.id", lambda p: p.user_id),
            _c("role", "text", "The role key (docs/permissions.md)."),
            _c("team_id", "integer", "teams.id; empty for an authority-wide post.", lambda p: p.team_id),
        ),
    ),
    Table(
        "children",
        "Every child (whole, every run): no name or date of birth.",
        False,
        (
            _c("id", "integer", "Resolve's id for the child."),
            _c("case_number", "text", "The child's number in the case system."),
            _c("team_id", "integer", "teams.id: the social worker's team.", lambda c: c.team_id),
            _c("social_worker_id", "integer", "staff.id", lambda c: c.social_worker_id),
            _c("iro_id", "integer", "staff.id; empty when none.", lambda c: c.iro_id),
            _c("cp_chair_id", "integer", "staff.id; empty when none.", lambda c: c.cp_chair_id),
            _c(
                "legal_status",
                "text",
                "looked_after, child_protection, child_in_need; empty when not imported.",
                lambda c: _legal_status(c),
            ),
            _c("created_at", "timestamp", "When the child was added to Resolve."),
        ),
    ),
    Table(
        "challenges",
        "Challenges changed since the last run (every challenge in a full run): no free text.",
        True,
        (
            _c("id", "integer", "Resolve's id for the challenge."),
            _c("child_id", "integer", "children.id", lambda c: c.child_id),
            _c("track", "text", "iro or cpc."),
            _c("procedure", "text", "The procedure's key.", lambda c: c.policy.key),
            _c("procedure_version", "integer", "The procedure's version.", lambda c: c.policy.version),
            _c("status", "text", "open, resolved or withdrawn."),
            _c("raised_by_id", "integer", "staff.id", lambda c: c.raised_by_id),
            _c("raised_on", "date", "When it was raised."),
            _c("themes", "text", "Theme keys, separated by ';'.", lambda c: ";".join(c.themes)),
            _c("stage_key", "text", "The current stage; empty when not open."),
            _c("stage_entered_on", "date", "When the current stage was entered."),
            _c("stage_due_on", "date", "When the current stage's response is due."),
            _c("formal_started_on", "date", "When the formal process started."),
            _c("formal_due_on", "date", "The formal process's limit."),
            _c("cafcass_referred_on", "date", "When it was referred to Cafcass."),
            _c("resolved_on", "date", "When it was resolved or withdrawn."),
            _c("last_event_on", "date", "The date of its latest event."),
            _c("version", "integer", "Goes up by one with every change."),
            _c("updated_at", "timestamp", "When it last changed: the change cursor."),
            _c("agency", "text", "The partner agency it was raised with; empty when with the authority."),
            _c("agency_kind", "text", "The partner agency's kind (health, police, ...); empty when none."),
        ),
    ),
    Table(
        "stage_visits",
        "Every stage each extracted challenge sat at.",
        True,
        (
            _c("id", "integer", "Resolve's id for the visit."),
            _c("challenge_id", "integer", "challenges.id", lambda v: v.challenge_id),
            _c("sequence", "integer", "1 for the first stage visited, and so on."),
            _c("stage_key", "text", "The stage."),
            _c("entered_on", "date", "When the stage was entered."),
            _c("due_on", "date", "When its response was due."),
            _c("left_on", "date", "When it left the stage; empty while there."),
            _c("left_how", "text", "How it left (escalated, resolved, ...)."),
            _c("response", "text", "agree, disagree or no_remit; empty when none."),
            _c("responded_on", "date", "When the response was recorded."),
            _c("meetings", "integer", "Meetings held at the stage."),
        ),
    ),
    Table(
        "actions",
        "The actions of each extracted challenge.",
        True,
        (
            _c("id", "integer", "Resolve's id for the action."),
            _c("challenge_id", "integer", "challenges.id", lambda a: a.challenge_id),
            _c("owner", "text", "Who owns it (a role key or a name)."),
            _c("due", "date", "When it is due."),
            _c("status", "text", "open, done or not_done."),
            _c("status_on", "date", "When its status was recorded."),
        ),
    ),
    Table(
        "cafcass_referrals",
        "The Cafcass referral of each extracted challenge that has one, and each referral of a child's "
        "case made with no challenge since the last run (challenge_id empty, child_id set).",
        True,
        (
            _c("id", "integer", "Resolve's id for the referral."),
            _c(
                "challenge_id",
                "integer",
                "challenges.id; empty for a referral with no challenge.",
                lambda r: r.challenge_id,
            ),
            _c("on", "date", "When it was made."),
            _c("urgent", "boolean", "Whether it curtailed the internal process."),
            _c(
                "child_id",
                "integer",
                "children.id of a referral made with no challenge; empty for a challenge's referral "
                "(see challenges.child_id).",
                lambda r: r.child_id,
            ),
        ),
    ),
    Table(
        "events",
        "Every event since the last run, oldest first (the evidence of each change).",
        True,
        (
            _c("id", "integer", "Resolve's id for the event: the change cursor."),
            _c("challenge_id", "integer", "challenges.id", lambda e: e.challenge_id),
            _c("sequence", "integer", "1 for the challenge's first event, and so on."),
            _c("type", "text", "What happened (raised, escalated, responded, ...)."),
            _c("stage_key", "text", "The stage it happened at."),
            _c("on", "date", "When it happened."),
            _c("by_id", "integer", "staff.id; empty when Resolve acted by itself.", lambda e: e.by_id),
            _c("created_at", "timestamp", "When it was recorded."),
        ),
    ),
)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _write(folder: Path, table: Table, rows: Iterable[Any]) -> int:
    path = folder / f"{table.name}.csv"
    partial = folder / f".{table.name}.csv.partial"
    count = 0
    with partial.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([column.name for column in table.columns])
        for row in rows:
            writer.writerow([_text(column.value(row)) for column in table.columns])
            count += 1
    os.replace(partial, path)
    return count


def extract_schema() -> list[dict[str, Any]]:
    return [
        {
            "table": table.name,
            "description": table.description,
            "incremental": table.incremental,
            "columns": [
                {"name": c.name, "type": c.type, "description": c.description} for c in table.columns
            ],
        }
        for table in TABLES
    ]


def extracts_export(*, user: User, folder: Path, full: bool = False) -> ExtractRun:
    """Write the extracts into a new sub-folder of ``folder``; see the module's docstring."""
    if not folder.is_dir():
        raise ServiceError(
            "invalid", "no_folder", f"{folder} is not a folder: create it or set RESOLVE_EXTRACTS_DIR."
        )
    with transaction.atomic():
        last = ExtractRun.objects.select_for_update().order_by("-at", "-id").first()
        until = timezone.now()
        events_until = Event.objects.aggregate(last=Max("id"))["last"] or 0
        since = None if full or last is None else last.challenges_until - OVERLAP
        events_after = 0 if full or last is None else last.events_until
        challenges = challenges_visible_to(user).select_related("policy").order_by("pk")
        challenges = challenges.filter(updated_at__lte=until)
        if since is not None:
            challenges = challenges.filter(updated_at__gt=since)
        chosen = list(challenges)
        ids = [challenge.pk for challenge in chosen]
        children = list(children_visible_to(user).select_related("legal_status").order_by("pk"))
        events = (
            Event.objects.filter(
                challenge_id__in=challenges_visible_to(user).values("pk"),
                pk__gt=events_after,
                pk__lte=events_until,
            )
            .order_by("pk")
            .iterator(chunk_size=5000)
        )
        # A referral of a child's case with no challenge is written in the run after it was made (the
        # columns extracted never change afterwards), for the children this account may see.
        no_challenge = Q(
            challenge__isnull=True,
            child_id__in=children_visible_to(user).values("pk"),
            created_at__lte=until,
        )
        if since is not None:
            no_challenge &= Q(created_at__gt=since)
        sources: dict[str, Iterable[Any]] = {
            "teams": Team.objects.order_by("pk"),
            "staff": User.objects.order_by("pk"),
            "posts": Post.objects.order_by("pk"),
            "children": children,
            "challenges": chosen,
            "stage_visits": StageVisit.objects.filter(challenge_id__in=ids).order_by(
                "challenge_id", "sequence"
            ),
            "actions": Action.objects.filter(challenge_id__in=ids).order_by("pk"),
            "cafcass_referrals": CafcassReferral.objects.filter(
                Q(challenge_id__in=ids) | no_challenge
            ).order_by("pk"),
            "events": events,
        }
        number = ExtractRun.objects.count() + 1
        target = folder / f"resolve-extract-{timezone.localtime(until):%Y-%m-%dT%H%M%S}-{number:06d}"
        target.mkdir()
        counts = {table.name: _write(target, table, sources[table.name]) for table in TABLES}
        records_viewed(user=user, children=children, challenges=chosen)
        run = ExtractRun.objects.create(
            by=user,
            folder=str(target),
            full=full,
            challenges_until=until,
            events_until=events_until,
            rows=counts,
        )
        manifest = {
            "run": run.pk,
            "at": _text(until),
            "full": full or last is None,
            "challenges_changed_after": _text(since) if since is not None else None,
            "events_after_id": events_after,
            "rows": counts,
            "tables": extract_schema(),
        }
        (target / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return run
