"""Importing a case system's export: teams, staff, posts, children and their allocations.

``records_import`` reads the files by their mapping, checks every row against Resolve's records and
against the rows before it, and answers a report that says, row by row, what is (or would be)
created, changed, left as it is, or refused and why. A dry run stops there. Applying writes
everything in one transaction, and only when no row is refused: an export is imported whole or not
at all. Importing the same export again changes nothing.

A change of a child's allocation goes through ``resolve.children.services.child_allocate``, the one
way an allocation changes, which writes it on the child's record as a case note; a change of legal
status is written on the record the same way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from resolve.access import Perm, child_get_for_allocation, child_id_for_allocation, perm_require
from resolve.casesystem.mapping import LEGAL_STATUSES, Mapping, date_format_words
from resolve.casesystem.models import ImportRun, LegalStatus
from resolve.casesystem.reading import FileProblem, Sheet, export_read
from resolve.casesystem.selectors import (
    ChildNow,
    PersonNow,
    Records,
    TeamNow,
    child_id_newest,
    child_ids_after,
    records_for_import,
)
from resolve.children.models import CaseNote, Child
from resolve.children.services import child_allocate
from resolve.core import limits
from resolve.core.errors import ServiceError
from resolve.people.models import Post, Team
from resolve.people.roles import ROLES, role_label

Action = Literal["create", "change", "unchanged", "refuse"]
LEGAL_STATUS_NOTE = "Legal status changed"
# The report kept with an import run (the command prints it whole).
STORED_REPORT_LINES = 2_000


@dataclass
class RowOutcome:
    """What one row of the export does, or why it is refused."""

    source: str
    row: int
    kind: str
    key: str  # the team's name, the username or the case number
    action: Action = "unchanged"
    changes: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (column heading, what is wrong)

    def refuse(self, column: str, message: str) -> None:
        self.action = "refuse"
        self.problems.append((column, message))

    def line(self) -> str:
        where = f"{self.source} row {self.row} ({self.key or 'no key'})"
        if self.action == "refuse":
            why = "; ".join(
                f"{column}: {message}" if column else message for column, message in self.problems
            )
            return f"{where}: refused. {why}"
        if self.action == "create":
            what = {"teams": "team", "staff": "member of staff", "posts": "post"}.get(self.kind, "child")
            extra = f" ({'; '.join(self.changes)})" if self.changes else ""
            return f"{where}: new {what}{extra}."
        if self.action == "change":
            return f"{where}: changes {'; '.join(self.changes)}."
        return f"{where}: no change."


@dataclass
class ImportReport:
    mapping: Mapping
    files: list[str]
    file_problems: list[FileProblem] = field(default_factory=list)
    rows: list[RowOutcome] = field(default_factory=list)
    dry_run: bool = True
    applied: bool = False

    def count(self, action: Action) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def refused(self) -> bool:
        return bool(self.file_problems) or any(row.action == "refuse" for row in self.rows)

    def summary(self) -> str:
        verb = "Imported" if self.applied else ("Dry run" if self.dry_run else "Nothing imported")
        return (
            f"{verb}: {self.count('create')} new, {self.count('change')} changed, "
            f"{self.count('unchanged')} unchanged, {self.count('refuse')} refused"
            + (f", {len(self.file_problems)} file problem(s)" if self.file_problems else "")
            + "."
        )

    def lines(self, *, changes_only: bool = False) -> list[str]:
        """The report as an administrator reads it: problems with files first, then refused rows, then
        every other row (only those that change something when ``changes_only``)."""
        kind = "(dry run: nothing written)" if not self.applied else "(applied)"
        out = [f"Import with mapping {self.mapping.key!r} ({self.mapping.name}) {kind}", self.summary()]
        if self.refused and not self.applied:
            out.append("Nothing can be imported until every refused row and file problem is put right.")
        out += [f"File problem: {problem}" for problem in self.file_problems]
        out += [row.line() for row in self.rows if row.action == "refuse"]
        out += [
            row.line()
            for row in self.rows
            if row.action != "refuse" and (not changes_only or row.action != "unchanged")
        ]
        return out

    def text(self) -> str:
        return "\n".join(self.lines())


# -- checking ---------------------------------------------------------------------------------------
_EMAIL = EmailValidator()


@dataclass
class _Plan:
    """What applying will write, built while the rows are checked."""

    teams_new: list[TeamNow] = field(default_factory=list)
    teams_kind: dict[str, str] = field(default_factory=dict)  # name → new kind
    people_new: list[PersonNow] = field(default_factory=list)
    people_change: dict[str, dict[str, object]] = field(default_factory=dict)
    posts_new: list[tuple[str, str, str | None]] = field(default_factory=list)
    children_new: list[ChildNow] = field(default_factory=list)
    children_details: dict[str, dict[str, object]] = field(default_factory=dict)  # case number → fields
    allocations: dict[str, ChildNow] = field(default_factory=dict)  # case number → the new allocation
    statuses: dict[str, tuple[str | None, str]] = field(default_factory=dict)  # case number → (old, new)


class _Checker:
    def __init__(self, *, user: User, records: Records, today: dt.date) -> None:
        self.user = user
        self.records = records
        self.today = today
        self.plan = _Plan()
        self.leaving: dict[str, tuple[RowOutcome, dt.date]] = {}
        self.seen: dict[tuple[str, str], str] = {}  # (kind group, key) → where it was first seen
        self._post_index: dict[str, list[tuple[str, str, str | None]]] = {}
        self._post_count = -1

    # Each check answers the cleaned value, or refuses the row and answers None.
    def text(
        self, out: RowOutcome, sheet: Sheet, row: dict[str, str], name: str, *, required: bool, most: int
    ) -> str | None:
        heading = sheet.section.columns.get(name, name)
        value = row.get(name, "").strip()
        if not value:
            if required:
                out.refuse(heading, "is empty; it is required.")
            return None
        problem = limits.bad_character(value)
        if problem:
            out.refuse(heading, f"{problem}.")
            return None
        if len(value) > most or "\n" in value or "\r" in value:
            out.refuse(heading, f"keep it on one line of at most {most} characters.")
            return None
        return value

    def code(
        self, out: RowOutcome, sheet: Sheet, row: dict[str, str], name: str, *, required: bool
    ) -> str | None:
        value = self.text(out, sheet, row, name, required=required, most=limits.MAX_KEY)
        if value is None:
            return None
        resolved = sheet.section.code(name, value)
        if resolved is None:
            known = ", ".join(sorted(sheet.section.codes[name]))
            out.refuse(sheet.section.columns[name], f"{value!r} is not in the mapping's code list ({known}).")
        return resolved

    def date(
        self, out: RowOutcome, sheet: Sheet, row: dict[str, str], name: str, *, required: bool
    ) -> dt.date | None:
        value = self.text(out, sheet, row, name, required=required, most=40)
        if value is None:
            return None
        found = sheet.section.date(value)
        if found is None:
            out.refuse(
                sheet.section.columns[name],
                f"{value!r} is not a date in the form {sheet.section.date_words()}.",
            )
        return found

    def once(self, out: RowOutcome, group: str, key: str, heading: str) -> bool:
        where = f"{out.source} row {out.row}"
        first = self.seen.setdefault((group, key.casefold()), where)
        if first != where:
            out.refuse(heading, f"{key!r} is also on {first}: each appears once in an import.")
            return False
        return True

    # -- per kind -----------------------------------------------------------------------------------
    def team(self, sheet: Sheet, out: RowOutcome, row: dict[str, str]) -> None:
        name = self.text(out, sheet, row, "name", required=True, most=200)
        kind = self.code(out, sheet, row, "kind", required=True)
        out.key = name or ""
        if name is None or kind is None or out.action == "refuse":
            return
        if kind not in set(Team.Kind.values):
            out.refuse(sheet.section.columns["kind"], f"{kind!r} is not a kind of team.")
            return
        if not self.once(out, "team", name, sheet.section.columns["name"]):
            return
        now = self.records.teams.get(name.casefold())
        if now is None:
            team = TeamNow(None, name, kind)
            self.records.teams[name.casefold()] = team
            self.plan.teams_new.append(team)
            out.action = "create"
        elif now.kind != kind:
            out.action = "change"
            out.changes.append(f"kind: {Team.Kind(now.kind).label} to {Team.Kind(kind).label}")
            now.kind = kind
            self.plan.teams_kind[now.name] = kind

    def person(self, sheet: Sheet, out: RowOutcome, row: dict[str, str]) -> None:
        columns = sheet.section.columns
        username = self.text(out, sheet, row, "username", required=True, most=150)
        out.key = username or ""
        first = self.text(out, sheet, row, "first_name", required=True, most=limits.MAX_NAME)
        last = self.text(out, sheet, row, "last_name", required=True, most=limits.MAX_NAME)
        email = self.text(out, sheet, row, "email", required=False, most=254) or ""
        left_on = self.date(out, sheet, row, "left_on", required=False)
        if username is not None:
            try:
                User.username_validator(username)
            except ValidationError:
                out.refuse(columns["username"], f"{username!r}: use letters, digits and @ . + - _ only.")
        if email:
            try:
                _EMAIL(email)
            except ValidationError:
                out.refuse(columns["email"], f"{email!r} is not an email address.")
        if username is None or first is None or last is None or out.action == "refuse":
            return
        if not self.once(out, "person", username, columns["username"]):
            return
        active = left_on is None or left_on > self.today
        now = self.records.people.get(username)
        if now is None:
            person = PersonNow(None, username, first, last, email, active, False)
            self.records.people[username] = person
            self.plan.people_new.append(person)
            out.action = "create"
            if not active:
                out.changes.append("has left")
        else:
            if now.is_admin:
                out.refuse(
                    columns["username"],
                    f"{username} is an administrator; their account is kept in the admin site.",
                )
                return
            wanted: dict[str, object] = {
                "first_name": first,
                "last_name": last,
                "email": email,
                "is_active": active,
            }
            changed = {name: value for name, value in wanted.items() if getattr(now, name) != value}
            for name, value in changed.items():
                if name == "is_active":
                    out.changes.append("left" if not value else "active again (no leaving date)")
                else:
                    out.changes.append(f"{name.replace('_', ' ')}: {getattr(now, name)!r} to {value!r}")
                setattr(now, name, value)
            if changed:
                out.action = "change"
                self.plan.people_change[username] = changed
        if not active and left_on is not None:
            self.leaving[username] = (out, left_on)

    def post(self, sheet: Sheet, out: RowOutcome, row: dict[str, str]) -> None:
        columns = sheet.section.columns
        username = self.text(out, sheet, row, "username", required=True, most=150)
        role = self.code(out, sheet, row, "role", required=True)
        team_name = self.text(out, sheet, row, "team", required=False, most=200)
        out.key = f"{username or ''}, {role or ''}, {team_name or 'authority-wide'}"
        if username is None or role is None or out.action == "refuse":
            return
        if role not in ROLES:
            out.refuse(columns["role"], f"{role!r} is not a role Resolve knows.")
        person = self.records.people.get(username)
        if person is None:
            out.refuse(
                columns["username"], f"there is nobody called {username!r} in Resolve or in the staff rows."
            )
        team = self.records.teams.get(team_name.casefold()) if team_name else None
        if team_name and team is None:
            out.refuse(
                columns["team"], f"there is no team called {team_name!r} in Resolve or in the team rows."
            )
        if out.action == "refuse" or person is None:
            return
        if person.is_admin:
            out.refuse(
                columns["username"],
                f"{username} is an administrator; their posts are kept in the admin site.",
            )
            return
        key = (username, role, team.name if team else None)
        if not self.once(out, "post", "|".join(str(part) for part in key), columns["username"]):
            return
        if key not in self.records.posts:
            self.records.posts.add(key)
            self.plan.posts_new.append(key)
            if role == "social_worker" and team is not None:
                self.records.social_work_team.setdefault(username, team.name)
            out.action = "create"

    def _staff(self, out: RowOutcome, heading: str, username: str | None, role: str) -> None:
        if username is None:
            return
        person = self.records.people.get(username)
        if person is None:
            out.refuse(heading, f"there is nobody called {username!r} in Resolve or in the staff rows.")
        elif not person.is_active:
            left = self.leaving.get(username)
            when = f" on {left[1]:%-d %B %Y}" if left else ""
            out.refuse(heading, f"{username} has left{when}: allocate the child to someone in post.")
        elif not any(post[0] == username and post[1] == role for post in self._posts_of(username)):
            out.refuse(heading, f"{username} is not a {role_label(role)}: give them the post first.")
        elif person.id is not None and person.id == self.user.pk:
            out.refuse(
                heading, "you cannot allocate a child to yourself; another administrator imports this."
            )

    def _posts_of(self, username: str) -> list[tuple[str, str, str | None]]:
        if self._post_count != len(self.records.posts):
            index: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
            for post in self.records.posts:
                index[post[0]].append(post)
            self._post_index, self._post_count = index, len(self.records.posts)
        return self._post_index.get(username, [])

    def child(self, sheet: Sheet, out: RowOutcome, row: dict[str, str], *, creates: bool) -> None:
        columns = sheet.section.columns
        raw = self.text(out, sheet, row, "case_number", required=True, most=40)
        case_number = limits.case_number_normalise(raw) if raw else None
        out.key = case_number or ""
        if case_number is not None:
            problem = limits.case_number_problem(case_number)
            if problem:
                out.refuse(columns["case_number"], problem)
        details: dict[str, object] = {}
        if creates:
            first = self.text(out, sheet, row, "first_name", required=True, most=limits.MAX_NAME)
            last = self.text(out, sheet, row, "last_name", required=True, most=limits.MAX_NAME)
            born = self.date(out, sheet, row, "date_of_birth", required=True)
            if born is not None:
                try:
                    limits.date_of_birth_check(value=born, today=self.today)
                except ServiceError as error:
                    out.refuse(columns["date_of_birth"], error.message)
            details = {"first_name": first, "last_name": last, "date_of_birth": born}
        worker = self.text(out, sheet, row, "social_worker", required=True, most=150)
        iro = self.text(out, sheet, row, "iro", required=False, most=150)
        cp_chair = self.text(out, sheet, row, "cp_chair", required=False, most=150)
        status = (
            self.code(out, sheet, row, "legal_status", required=False) if "legal_status" in columns else None
        )
        if status is not None and status not in LEGAL_STATUSES:
            out.refuse(columns["legal_status"], f"{status!r} is not a legal status.")
        self._staff(out, columns["social_worker"], worker, "social_worker")
        if iro is not None:
            self._staff(out, columns["iro"], iro, "iro")
        if cp_chair is not None:
            self._staff(out, columns["cp_chair"], cp_chair, "cp_chair")
        team = self.records.social_work_team.get(worker) if worker else None
        if worker is not None and team is None and out.action != "refuse":
            out.refuse(
                columns["social_worker"], f"{worker} is not in a social work team: add them to one first."
            )
        if case_number is None or worker is None or team is None or out.action == "refuse":
            return
        if not self.once(out, "child", case_number, columns["case_number"]):
            return
        now = self.records.children.get(case_number)
        if now is None:
            if not creates:
                out.refuse(
                    columns["case_number"],
                    f"no child has case number {case_number!r}: add the child in a children file.",
                )
                return
            child = ChildNow(
                None, case_number, str(details["first_name"]), str(details["last_name"]),
                details["date_of_birth"], worker, team, iro, cp_chair, status,  # type: ignore[arg-type]
            )  # fmt: skip
            self.records.children[case_number] = child
            self.plan.children_new.append(child)
            out.action = "create"
            return
        changed = {name: value for name, value in details.items() if getattr(now, name) != value}
        for name, value in changed.items():
            out.changes.append(f"{name.replace('_', ' ')}: {getattr(now, name)} to {value}")
        if changed:
            self.plan.children_details[case_number] = changed
        wanted = (worker, team, iro, cp_chair)
        if (now.social_worker, now.team, now.iro, now.cp_chair) != wanted:
            for label, old, new in zip(
                ("social worker", "team", "IRO", "CP Chair"),
                (now.social_worker, now.team, now.iro, now.cp_chair),
                wanted,
                strict=True,
            ):
                if old != new:
                    out.changes.append(f"{label}: {old or 'nobody'} to {new or 'nobody'}")
            self.plan.allocations[case_number] = now
            now.social_worker, now.team, now.iro, now.cp_chair = wanted
        if status is not None and status != now.legal_status:
            was = LEGAL_STATUSES.get(now.legal_status or "", "none")
            out.changes.append(f"legal status: {was} to {LEGAL_STATUSES[status]}")
            self.plan.statuses[case_number] = (now.legal_status, status)
            now.legal_status = status
        if out.changes:
            out.action = "change"

    def leavers_allocated(self) -> None:
        """A person the import makes a leaver must not stay allocated to a child it leaves alone."""
        if not self.leaving:
            return
        holding: dict[str, list[str]] = defaultdict(list)
        for child in self.records.children.values():
            for username in {child.social_worker, child.iro, child.cp_chair}:
                if username in self.leaving:
                    holding[username].append(child.case_number)
        for username, case_numbers in holding.items():
            out, left_on = self.leaving[username]
            if out.action == "refuse":
                continue
            shown = ", ".join(sorted(case_numbers)[:5]) + (" and more" if len(case_numbers) > 5 else "")
            out.refuse(
                "",
                f"{username} left on {left_on:%-d %B %Y} but is still allocated to {len(case_numbers)} "
                f"child(ren) ({shown}): allocate them to someone in post in the same import.",
            )


def _check(*, user: User, mapping: Mapping, sheets: list[Sheet]) -> tuple[list[RowOutcome], _Plan]:
    checker = _Checker(user=user, records=records_for_import(), today=timezone.localdate())
    outcomes: list[RowOutcome] = []
    handlers: dict[str, Callable[[Sheet, RowOutcome, dict[str, str]], None]] = {
        "teams": checker.team,
        "staff": checker.person,
        "posts": checker.post,
        "children": lambda s, o, r: checker.child(s, o, r, creates=True),
        "allocations": lambda s, o, r: checker.child(s, o, r, creates=False),
    }
    for sheet in sheets:
        handle = handlers[sheet.section.kind]
        for number, row in sheet.rows:
            out = RowOutcome(source=sheet.source, row=number, kind=sheet.section.kind, key="")
            handle(sheet, out, row)
            outcomes.append(out)
    checker.leavers_allocated()
    return outcomes, checker.plan


# -- applying ---------------------------------------------------------------------------------------
def _apply(*, user: User, plan: _Plan) -> None:
    Team.objects.bulk_create([Team(name=team.name, kind=team.kind) for team in plan.teams_new])
    for name, kind in plan.teams_kind.items():
        Team.objects.filter(name=name).update(kind=kind)
    unusable = make_password(None)  # they sign in through single sign-on, or an administrator sets one
    User.objects.bulk_create(
        [
            User(
                username=person.username,
                first_name=person.first_name,
                last_name=person.last_name,
                email=person.email,
                is_active=person.is_active,
                password=unusable,
            )
            for person in plan.people_new
        ],
        batch_size=2000,
    )
    for username, fields in plan.people_change.items():
        User.objects.filter(username=username).update(**fields)
    user_ids = dict(User.objects.values_list("username", "pk"))
    team_ids = {name.casefold(): pk for name, pk in Team.objects.values_list("name", "pk")}
    Post.objects.bulk_create(
        [
            Post(user_id=user_ids[username], role=role, team_id=team_ids[team.casefold()] if team else None)
            for username, role, team in plan.posts_new
        ],
        batch_size=2000,
    )
    ids = _children_insert(plan.children_new, user_ids=user_ids, team_ids=team_ids)
    statuses = [
        (ids[child.case_number], child.legal_status, child.legal_status == "looked_after")
        for child in plan.children_new
        if child.legal_status
    ]
    _rows_insert(
        LegalStatus, ["child_id", "status", "was_looked_after", "updated_at"], statuses, stamped=True
    )
    for case_number, fields in plan.children_details.items():
        found = child_get_for_allocation(user=user, child_id=_child_id(user, plan, case_number))
        for name, value in fields.items():
            setattr(found, name, value)
        found.save(update_fields=list(fields))
    for case_number, now in plan.allocations.items():
        child_allocate(
            user=user,
            child_id=_child_id(user, plan, case_number),
            social_worker=now.social_worker,
            iro=now.iro,
            cp_chair=now.cp_chair,
        )
    for case_number, (old, new) in plan.statuses.items():
        legal_status_set(user=user, child_id=_child_id(user, plan, case_number), status=new, previous=old)


# The columns a new child's row is written with, in one statement for many rows (see _rows_insert).
_CHILD_COLUMNS = [
    "case_number",
    "first_name",
    "last_name",
    "date_of_birth",
    "social_worker_id",
    "team_id",
    "iro_id",
    "cp_chair_id",
    "created_at",
]


def _rows_insert(
    model: type[models.Model], columns: list[str], rows: Sequence[tuple[Any, ...]], *, stamped: bool = False
) -> None:
    """Insert many rows with one ``executemany``, as the database's own driver does, when the model's
    columns are exactly ``columns`` (those the checks filled in); otherwise through the ORM.

    The ORM's ``bulk_create`` prepares every value in Python and is several times slower on a large
    export; a column added to the model later (with a default only Python knows) falls back to it.
    ``stamped`` adds the time of writing as the last column.
    """
    if not rows:
        return
    ops = connection.ops
    stored = [str(field.column) for field in model._meta.concrete_fields if not field.primary_key]
    now = timezone.now()
    full = [(*row, now) for row in rows] if stamped else rows
    if sorted(stored) != sorted(columns):
        model._default_manager.bulk_create(
            [model(**dict(zip(columns, row, strict=True))) for row in full], batch_size=2000
        )
        return
    stamp = ops.adapt_datetimefield_value(now)
    prepared: list[tuple[Any, ...]] = [
        tuple(
            ops.adapt_datefield_value(value)
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime)
            else value
            for value in row
        )
        + ((stamp,) if stamped else ())
        for row in rows
    ]
    table = ops.quote_name(model._meta.db_table)
    names = ", ".join(ops.quote_name(column) for column in columns)
    marks = ", ".join(["%s"] * len(columns))
    # The model's own table and column names, quoted; every value is a parameter.
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608  # nosec B608
    with connection.cursor() as cursor:
        for start in range(0, len(prepared), 5000):
            cursor.executemany(sql, prepared[start : start + 5000])


def _children_insert(
    children: list[ChildNow], *, user_ids: dict[str, int], team_ids: dict[str, int]
) -> dict[str, int]:
    """Add the new children; answers their ids by case number."""
    before = child_id_newest()
    _rows_insert(
        Child,
        _CHILD_COLUMNS,
        [
            (
                child.case_number,
                child.first_name,
                child.last_name,
                child.date_of_birth,
                user_ids[child.social_worker],
                team_ids[child.team.casefold()],
                user_ids[child.iro] if child.iro else None,
                user_ids[child.cp_chair] if child.cp_chair else None,
            )
            for child in children
        ],
        stamped=True,
    )
    return child_ids_after(before) if children else {}


def _child_id(user: User, plan: _Plan, case_number: str) -> int:
    now = plan.allocations.get(case_number)
    if now is not None and now.id is not None:
        return now.id
    return child_id_for_allocation(user=user, case_number=case_number)


def legal_status_set(*, user: User, child_id: int, status: str, previous: str | None) -> None:
    """Record the child's legal status, and write the change on their record as a case note."""
    child = child_get_for_allocation(user=user, child_id=child_id)
    record, _ = LegalStatus.objects.get_or_create(child=child, defaults={"status": status})
    record.status = status
    record.was_looked_after = record.was_looked_after or status == "looked_after"
    record.save()
    CaseNote.objects.create(
        child=child,
        note_type=LEGAL_STATUS_NOTE,
        body=(
            f"{user.get_full_name() or user.get_username()} imported a change of legal status from the "
            f"case system: {LEGAL_STATUSES.get(previous or '', 'none')} to {LEGAL_STATUSES[status]}."
        ),
        on=timezone.localdate(),
        author=user,
    )


def records_import(
    *, user: User, mapping: Mapping, files: list[tuple[str, bytes]], apply: bool
) -> ImportReport:
    """Check an export against Resolve's records and, when ``apply`` and nothing is refused, import it.

    Nothing is written unless every row and file is acceptable; the run and its report are kept
    (``ImportRun``) either way. Needs both adding children and managing reference data.
    """
    perm_require(user=user, perm=Perm.ADD_CHILDREN)
    perm_require(user=user, perm=Perm.MANAGE_REFERENCE_DATA)
    sheets, problems = export_read(mapping, files)
    names = [f"{name} (sha256 {hashlib.sha256(content).hexdigest()[:16]})" for name, content in files]
    report = ImportReport(mapping=mapping, files=names, file_problems=problems, dry_run=not apply)
    if apply and not problems:
        try:
            with transaction.atomic():
                report.rows, plan = _check(user=user, mapping=mapping, sheets=sheets)
                if not report.refused:
                    _apply(user=user, plan=plan)
                    report.applied = True
        except IntegrityError:
            # Another import or change wrote the same team, person or child while this one ran.
            raise ServiceError(
                "conflict",
                "import_conflict",
                "Another change wrote some of the same records while this import ran, so nothing was "
                "imported: run it again.",
                "files",
            ) from None
    else:
        report.rows, _ = _check(user=user, mapping=mapping, sheets=sheets)
    lines = report.lines(changes_only=True)
    if len(lines) > STORED_REPORT_LINES:
        lines = [*lines[:STORED_REPORT_LINES], f"... and {len(lines) - STORED_REPORT_LINES:,} more lines."]
    ImportRun.objects.create(
        by=user,
        mapping=f"{mapping.key} ({mapping.name})"[:200],
        files="; ".join(names)[:2000],
        outcome=ImportRun.Outcome.APPLIED
        if report.applied
        else (ImportRun.Outcome.REFUSED if report.refused else ImportRun.Outcome.CHECKED),
        created=report.count("create"),
        changed=report.count("change"),
        unchanged=report.count("unchanged"),
        refused=report.count("refuse") + len(problems),
        report="\n".join(lines),
    )
    return report


__all__ = ["ImportReport", "RowOutcome", "date_format_words", "legal_status_set", "records_import"]
