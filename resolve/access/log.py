"""The access log's writer: one row per look at a child's record or a challenge.

It lives in access, beside the chokepoint that calls it, and writes ``resolve.audit.models`` directly:
the access-log and break-glass models sit below access (they import nothing of it), while audit's
services, selectors and API, which need the chokepoint, sit above it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connections, router, transaction
from django.db.models import Case, Value, When
from django.db.models.sql import InsertQuery
from django.utils import timezone

from resolve.access.context import current
from resolve.audit.models import AccessLogEntry, BreakGlassGrant, ListViewChild, ListViewEntry

UserLike = AbstractBaseUser | AnonymousUser

# The most children one list-view row names. Pages show 20 to 50; the longest list is a page of the
# review of list views (``/api/v1/access-log/list-views``: 20 rows of at most 500 children each).
LIST_VIEW_MAX_CHILDREN = 10_000


class Shown(Protocol):
    """What a list row names of a child: a ``Child``, or anything with its id and case number."""

    @property
    def pk(self) -> int: ...

    @property
    def case_number(self) -> str: ...


@dataclass(frozen=True)
class ShownChild:
    """A child named by a list, when the list has only its id and case number."""

    pk: int
    case_number: str


def access_record(*, user: UserLike, child_id: int, challenge_id: int | None = None) -> AccessLogEntry | None:
    """Log that ``user`` opened a child's record (or one of its challenges), once per record per request.

    The channel, method, path and address come from the request in progress
    (``resolve.access.context``); outside one the row says "other". A look during a break-glass grant
    is logged against it.
    """
    if not user.is_authenticated:
        return None
    context = current()
    if context is not None:
        key = (child_id, challenge_id)
        if key in context.logged:
            return None
        context.logged.add(key)
    entry_id, grant_id = _id_and_grant(user_id=user.pk, child_id=child_id)
    entry = _entry(user.pk, child_id, challenge_id, grant_id)
    entry.pk = entry_id
    entry.save(force_insert=True)
    return entry


def _entry(user_id: Any, child_id: int, challenge_id: int | None, grant_id: int | None) -> AccessLogEntry:
    """The access-log row of one look, not yet written: the request in progress says how."""
    context = current()
    return AccessLogEntry(
        user_id=user_id,
        child_id=child_id,
        challenge_id=challenge_id,
        channel=context.channel if context else AccessLogEntry.Channel.OTHER,
        method=context.method if context else "",
        path=context.path if context else "",
        ip_address=context.ip_address if context else None,
        break_glass_id=grant_id,
    )


def access_record_many(*, user: UserLike, records: Iterable[tuple[int, int | None]]) -> list[AccessLogEntry]:
    """``access_record`` for many looks at once (``records``: each child's id with the challenge's, or
    None), in the same few statements however many: the break-glass grants running for their children
    read in one, the rows written sealed in one INSERT (on PostgreSQL their ids taken from the
    table's sequence in one statement first; elsewhere the INSERT answers them and one UPDATE seals
    the rows). Each record once per request, as ``access_record``. For a step that reads many records
    at once: a leaver's hand-over, the learning quoted by a report."""
    if not user.is_authenticated:
        return []
    context = current()
    logged = context.logged if context is not None else set()
    wanted = list(dict.fromkeys(key for key in records if key not in logged))
    if len(wanted) < 2:
        looked = [access_record(user=user, child_id=child_id, challenge_id=c) for child_id, c in wanted]
        return [entry for entry in looked if entry is not None]
    logged.update(wanted)
    grants: dict[int, int] = {}
    running = (
        BreakGlassGrant.objects.filter(
            user_id=user.pk, child_id__in={child_id for child_id, _ in wanted}, expires_at__gt=timezone.now()
        )
        .order_by("child_id", "-granted_at")
        .values_list("child_id", "pk")
    )
    for child_id, grant_id in running:
        grants.setdefault(child_id, grant_id)  # the newest running grant of each child
    rows = [
        _entry(user.pk, child_id, challenge_id, grants.get(child_id)) for child_id, challenge_id in wanted
    ]
    connection = connections[router.db_for_write(AccessLogEntry)]
    with transaction.atomic(using=connection.alias, savepoint=False):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [AccessLogEntry._meta.db_table, AccessLogEntry._meta.pk.column, len(rows)],
                )
                ids = [pk for (pk,) in cursor.fetchall()]
            for row, pk in zip(rows, ids, strict=True):
                row.pk = pk
                row.seal_for_insert()  # the id given: sealed before the INSERT
            AccessLogEntry.objects.bulk_create(rows)
            return rows
        AccessLogEntry.objects.bulk_create(rows)
        if any(row.pk is None for row in rows):  # a database that does not answer the ids
            raise RuntimeError("The access log needs a database that answers the ids of rows inserted.")
        for row in rows:
            row.seal_for_insert()  # the id now known: sealed, then written below
        AccessLogEntry._base_manager.filter(pk__in=[row.pk for row in rows]).update(
            key_id=rows[0].key_id, seal=Case(*(When(pk=row.pk, then=Value(row.seal)) for row in rows))
        )
    return rows


def _id_and_grant(*, user_id: Any, child_id: int) -> tuple[int | None, int | None]:
    """The access-log row's id and the break-glass grant a look is logged against (the newest still
    running), in one statement on PostgreSQL, where the id comes from the table's sequence (the row
    then goes in sealed, in one INSERT: ``RowSealedModel``). Elsewhere the id is the INSERT's."""
    now = timezone.now()
    connection = connections[router.db_for_write(AccessLogEntry)]
    if connection.vendor != "postgresql" or router.db_for_read(BreakGlassGrant) != connection.alias:
        grant = (
            BreakGlassGrant.objects.filter(user_id=user_id, child_id=child_id, expires_at__gt=now)
            .order_by("-granted_at")
            .values_list("pk", flat=True)
            .first()
        )
        return None, grant
    sql = _ID_AND_GRANT_SQL.get(connection.alias)
    if sql is None:
        quote = connection.ops.quote_name
        grants = quote(BreakGlassGrant._meta.db_table)
        opts = BreakGlassGrant._meta
        column = {
            "id": quote(str(opts.get_field("id").column)),
            "user": quote(str(opts.get_field("user").column)),
            "child": quote(str(opts.get_field("child").column)),
            "expires_at": quote(str(opts.get_field("expires_at").column)),
            "granted_at": quote(str(opts.get_field("granted_at").column)),
        }
        # Our own table and columns: no value of a request is in the text.
        sql = _ID_AND_GRANT_SQL[connection.alias] = (
            "SELECT nextval(pg_get_serial_sequence(%s, %s)), "  # noqa: S608  # nosec B608
            f"(SELECT g.{column['id']} FROM {grants} g "
            f"WHERE g.{column['user']} = %s AND g.{column['child']} = %s AND g.{column['expires_at']} > %s "
            f"ORDER BY g.{column['granted_at']} DESC LIMIT 1)"
        )
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [AccessLogEntry._meta.db_table, AccessLogEntry._meta.pk.column, user_id, child_id, now]
        )
        entry_id, grant_id = cursor.fetchone()
    return entry_id, grant_id


# (database alias) -> the statement; the same for every look.
_ID_AND_GRANT_SQL: dict[str, str] = {}


def access_record_list(*, user: UserLike, children: Iterable[Shown]) -> ListViewEntry | None:
    """Log one view of a list page that showed these children's names or case numbers.

    One row per page view, whatever its length: who, when, the channel, the path with its query
    (which filters and which page) and the children shown, in order, as ``[id, case number]``.
    Nothing is written for an empty list, or when nobody is signed in. The row is sealed
    (``RowSealedModel``) and indexed by child (``ListViewChild``) in one transaction.
    """
    if not user.is_authenticated:
        return None
    shown = list(dict.fromkeys((child.pk, child.case_number) for child in children))
    if not shown:
        return None
    if len(shown) > LIST_VIEW_MAX_CHILDREN:
        raise ValueError(f"A list view names at most {LIST_VIEW_MAX_CHILDREN} children, not {len(shown)}.")
    context = current()
    entry = ListViewEntry(
        user_id=user.pk,
        channel=context.channel if context else AccessLogEntry.Channel.OTHER,
        method=context.method if context else "",
        path=context.path if context else "",
        ip_address=context.ip_address if context else None,
        children=[[child_id, case_number] for child_id, case_number in shown],
    )
    if _list_view_insert(entry, [child_id for child_id, _ in shown]):
        return entry
    with transaction.atomic():
        entry.save()
        ListViewChild.objects.bulk_create(
            [ListViewChild(entry=entry, child_id=child_id) for child_id, _ in shown]
        )
    return entry


def _list_view_insert(entry: ListViewEntry, child_ids: list[int]) -> bool:
    """On PostgreSQL, write the list-view row, sealed, and its index by child in one statement (its
    id taken from the sequence first); False elsewhere, where ``access_record_list`` writes them in a
    transaction of their own. Every page of a list writes these: two statements instead of three."""
    connection = connections[router.db_for_write(ListViewEntry)]
    if connection.vendor != "postgresql" or router.db_for_write(ListViewChild) != connection.alias:
        return False
    entry.seal_for_insert()
    insert = InsertQuery(ListViewEntry)
    insert.insert_values(ListViewEntry._meta.concrete_fields, [entry])
    ((row_sql, row_params),) = insert.get_compiler(connection=connection).as_sql()
    quote = connection.ops.quote_name
    index = quote(ListViewChild._meta.db_table)
    entry_column = quote(ListViewChild._meta.get_field("entry").column)
    child_column = quote(ListViewChild._meta.get_field("child").column)
    with connection.cursor() as cursor:
        cursor.execute(
            # Our own tables and columns; the values are parameters. A statement is atomic.
            f"WITH entry AS ({row_sql}) INSERT INTO {index} ({entry_column}, {child_column}) "  # noqa: S608  # nosec B608
            "SELECT %s, shown FROM unnest(%s::bigint[]) AS shown",
            [*row_params, entry.pk, child_ids],
        )
    entry._state.adding = False
    entry._state.db = connection.alias
    return True
