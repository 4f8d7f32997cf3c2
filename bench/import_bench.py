"""Importing 100,000 children from an LCS-style CSV export, against a plain ``executemany`` of the same rows.

The import (``records_import`` with ``apply=True``) reads the CSV by its mapping, checks every row
(case number, names, date of birth, the social worker's and IRO's posts, duplicates, the legal
status code) and writes the children and their legal statuses in one transaction. The baseline
inserts the same, already parsed rows into the children table with one ``cursor.executemany``: the
least any import must do. Then the same export is imported again, which must change nothing.
Target: the import under 60 s on SQLite.
"""

from __future__ import annotations

import datetime as dt
import io
import time

from django.db import connection, transaction

from resolve.casesystem.mapping import mapping_load
from resolve.casesystem.services import records_import
from resolve.children.models import Child
from resolve.people.demo import authority_build

ROWS = 100_000
TARGET_SECONDS = 60.0


def _rows() -> list[tuple[str, str, str, dt.date, str, str]]:
    return [
        (
            f"LCS{1_000_000 + index}",
            f"First{index}",
            f"Last{index % 997}",
            dt.date(2008 + index % 16, 1 + index % 12, 1 + index % 28),
            "social_worker" if index % 3 else "social_worker_2",
            "iro",
        )
        for index in range(ROWS)
    ]


def _csv(rows: list[tuple[str, str, str, dt.date, str, str]]) -> bytes:
    out = io.StringIO()
    out.write("Person ID,Forename,Surname,DOB,Allocated Worker,IRO,CP Chair,Legal Status\n")
    for case_number, first, last, born, worker, iro in rows:
        out.write(f"{case_number},{first},{last},{born:%d/%m/%Y},{worker},{iro},,CLA\n")
    return out.getvalue().encode()


def run() -> None:
    authority = authority_build(password=None)
    admin = authority.staff["admin"]
    rows = _rows()
    export = [("lcs_children.csv", _csv(rows))]
    mapping = mapping_load("lcs-example")

    # The baseline: the same rows, parsed already, in one executemany, in a transaction rolled back.
    team_of = {
        "social_worker": authority.teams["social_work"].pk,
        "social_worker_2": authority.teams["second"].pk,
    }
    user_of = {key: user.pk for key, user in authority.staff.items()}
    values = [
        (
            case_number,
            first,
            last,
            born.isoformat(),
            user_of[worker],
            team_of[worker],
            user_of[iro],
            None,
            now,
        )
        for (case_number, first, last, born, worker, iro), now in zip(
            rows, [dt.datetime.now(dt.UTC).isoformat()] * ROWS, strict=True
        )
    ]
    table = connection.ops.quote_name(Child._meta.db_table)
    sql = (
        f"INSERT INTO {table} (case_number, first_name, last_name, date_of_birth, social_worker_id, team_id, "  # noqa: S608 (our own table name)
        "iro_id, cp_chair_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.executemany(sql, values)
        baseline = time.perf_counter() - started
        transaction.set_rollback(True)

    started = time.perf_counter()
    report = records_import(user=admin, mapping=mapping, files=export, apply=True)
    imported = time.perf_counter() - started
    assert report.applied and report.count("create") == ROWS, report.summary()

    started = time.perf_counter()
    again = records_import(user=admin, mapping=mapping, files=export, apply=True)
    reimported = time.perf_counter() - started
    assert again.count("unchanged") == ROWS, again.summary()

    print(f"rows: {ROWS:,} children (LCS-style CSV, {len(export[0][1]) / 1e6:.1f} MB)")
    print(f"baseline, one executemany of the parsed rows: {baseline:6.2f} s")
    print(
        f"import (read, check, write):                 {imported:6.2f} s  "
        f"({imported / baseline:.1f} x the baseline; target under {TARGET_SECONDS:.0f} s: "
        f"{'met' if imported < TARGET_SECONDS else 'NOT met'})"
    )
    print(
        f"importing the same file again (no change):   {reimported:6.2f} s  ({reimported / baseline:.1f} x)"
    )
