"""Writes the synthetic sample exports shipped beside this file (every person in them is made up).

    .venv/bin/python resolve/casesystem/samples/build.py

- ``lcs/``: an LCS-style export (CSV) of the demo authority: its teams, staff, posts and 36 children,
  as ``make demo`` builds them (usernames are the role keys); a member of staff who has left.
- ``lcs-changes/``: a later LCS-style allocations export that moves two children to another worker.
- ``mosaic/``: a Mosaic-style workbook (XLSX) of a second, smaller authority.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent

SOCIAL_WORK_TEAM = "Children in Care Team"
SECOND_TEAM = "Safeguarding and Family Support Team"
CHAIRS_TEAM = "IRO and Child Protection Chairs Service"

# (username, first, last, [(role code, team)]) as resolve/people/demo.py builds the demo authority.
STAFF = [
    ("iro", "Isla", "Reid", [("IRO", CHAIRS_TEAM)]),
    ("cp_chair", "Chris", "Patel", [("CPC", CHAIRS_TEAM)]),
    ("iro_team_manager", "Tanya", "Morgan", [("IROTM", CHAIRS_TEAM)]),
    ("iro_service_manager", "Sam", "Mensah", [("IROSM", CHAIRS_TEAM)]),
    ("iro_senior_manager", "Sunita", "Rao", [("IROSNM", CHAIRS_TEAM)]),
    ("head_of_safeguarding", "Hannah", "Shaw", [("HOSS", CHAIRS_TEAM)]),
    ("social_worker", "Sophie", "Walker", [("SW", SOCIAL_WORK_TEAM)]),
    ("team_manager", "Tom", "Mitchell", [("TM", SOCIAL_WORK_TEAM)]),
    ("service_manager", "Sarah", "Moore", [("SM", SOCIAL_WORK_TEAM), ("SM", SECOND_TEAM)]),
    ("senior_manager", "Simon", "Marsh", [("SNM", "")]),
    ("head_of_service", "Helen", "Owens", [("HOS", "")]),
    ("assistant_director", "Alan", "Dixon", [("AD", "")]),
    ("deputy_director", "Dawn", "Davies", [("DD", "")]),
    ("director", "Diana", "Carter", [("DCS", "")]),
    ("principal_social_worker", "Priya", "Singh", [("PSW", "")]),
    ("service_director", "Stephen", "Doyle", [("SD", "")]),
    ("chief_executive", "Catherine", "Evans", [("CEX", "")]),
    ("social_worker_2", "Sean", "Walsh", [("SW", SECOND_TEAM)]),
    ("team_manager_2", "Tara", "Mills", [("TM", SECOND_TEAM)]),
]
LEAVER = ("former_iro", "Fiona", "Grant", [("IRO", CHAIRS_TEAM)])

FIRST_NAMES = [
    "Amelia", "Noah", "Olivia", "Leo", "Isla", "Oscar", "Ava", "Arthur", "Freya", "Theo", "Lily", "Finley",
    "Grace", "Harry", "Ivy", "Jack", "Mia", "Jacob", "Poppy", "Alfie", "Rosie", "Charlie", "Evie", "Freddie",
    "Ella", "Archie", "Sophia", "Henry", "Daisy", "Louie", "Willow", "Reggie", "Ruby", "Tommy", "Esme",
    "Albie",
]  # fmt: skip
LAST_NAMES = [
    "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts", "Johnson", "Walker",
    "Wright", "Robinson", "Thompson", "White", "Hughes", "Edwards", "Green", "Hall", "Wood", "Harris",
]  # fmt: skip


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)


def lcs() -> None:
    folder = HERE / "lcs"
    _write(
        folder / "lcs_teams.csv",
        ["Team Name", "Team Type"],
        [[SOCIAL_WORK_TEAM, "Social Work"], [SECOND_TEAM, "Social Work"], [CHAIRS_TEAM, "IRO Service"]],
    )
    people = [*STAFF, LEAVER]
    _write(
        folder / "lcs_workers.csv",
        ["Worker ID", "Forename", "Surname", "Email Address", "End Date"],
        [
            [key, first, last, f"{key}@resolve.invalid", "31/03/2025" if key == LEAVER[0] else ""]
            for key, first, last, _ in people
        ],
    )
    _write(
        folder / "lcs_worker_roles.csv",
        ["Worker ID", "Role", "Team Name"],
        [[key, code, team] for key, _, _, posts in people for code, team in posts],
    )
    rows = []
    for index in range(36):
        born = dt.date(2008 + index % 16, 1 + index % 12, 1 + (index * 7) % 28)
        rows.append(
            [
                f"LCS{200100 + index}",
                FIRST_NAMES[index],
                LAST_NAMES[index % len(LAST_NAMES)],
                born.strftime("%d/%m/%Y"),
                "social_worker" if index % 3 else "social_worker_2",
                "iro",
                "cp_chair" if index % 2 else "",
                "CP" if index % 2 else "CLA",
            ]
        )
    _write(
        folder / "lcs_children.csv",
        ["Person ID", "Forename", "Surname", "DOB", "Allocated Worker", "IRO", "CP Chair", "Legal Status"],
        rows,
    )
    _write(
        HERE / "lcs-changes" / "lcs_allocations.csv",
        ["Person ID", "Allocated Worker", "IRO", "CP Chair", "Legal Status"],
        [
            ["LCS200101", "social_worker_2", "iro", "cp_chair", "CP"],
            ["LCS200102", "social_worker_2", "iro", "", "CLA"],
        ],
    )


def mosaic() -> None:
    book = Workbook()
    teams = book.active
    assert teams is not None
    teams.title = "Teams"
    teams.append(["ORGANISATION_NAME", "ORGANISATION_TYPE"])
    teams.append(["North Locality Team", "TEAM"])
    teams.append(["South Locality Team", "TEAM"])
    teams.append(["Independent Reviewing Service", "IRO_SERVICE"])
    workers = book.create_sheet("Workers")
    workers.append(["WORKER_ID", "FIRST_NAMES", "LAST_NAMES", "EMAIL_ADDRESS", "END_DATE"])
    staff = [
        ("M1001", "Nadia", "Okafor", "SOCIAL_WORKER", "North Locality Team"),
        ("M1002", "Owen", "Price", "SOCIAL_WORKER", "South Locality Team"),
        ("M1003", "Ruth", "Adeyemi", "TEAM_MANAGER", "North Locality Team"),
        ("M1004", "Gareth", "Lloyd", "TEAM_MANAGER", "South Locality Team"),
        ("M1005", "Imran", "Qureshi", "IRO", "Independent Reviewing Service"),
        ("M1006", "Beth", "Collins", "CP_CHAIR", "Independent Reviewing Service"),
        ("M1007", "Martin", "Hale", "IRO_TEAM_MANAGER", "Independent Reviewing Service"),
        ("M1008", "Joy", "Ferguson", "SERVICE_MANAGER", ""),
        ("M1009", "Keith", "Barnes", "DIRECTOR", ""),
    ]
    for worker_id, first, last, _, _ in staff:
        workers.append([worker_id, first, last, f"{first.lower()}.{last.lower()}@mosaic.invalid", None])
    workers.append(["M1010", "Paula", "Reeves", "paula.reeves@mosaic.invalid", dt.datetime(2025, 1, 31)])
    roles = book.create_sheet("Worker Roles")
    roles.append(["WORKER_ID", "ROLE_CODE", "ORGANISATION_NAME"])
    for worker_id, _, _, role, team in staff:
        roles.append([worker_id, role, team or None])
    clients = book.create_sheet("Clients")
    clients.append(
        [
            "PERSON_ID", "FIRST_NAMES", "LAST_NAMES", "DATE_OF_BIRTH", "ALLOCATED_WORKER_ID", "IRO_WORKER_ID",
            "CPC_WORKER_ID", "LEGAL_STATUS",
        ]
    )  # fmt: skip
    statuses = ["LOOKED_AFTER", "CHILD_PROTECTION", "CHILD_IN_NEED"]
    for index in range(12):
        status = statuses[index % 3]
        clients.append(
            [
                f"MOS{31000 + index}",
                FIRST_NAMES[(index * 5) % len(FIRST_NAMES)],
                LAST_NAMES[(index * 3) % len(LAST_NAMES)],
                dt.datetime(2009 + index % 14, 1 + (index * 5) % 12, 1 + (index * 3) % 28),
                "M1001" if index % 2 else "M1002",
                "M1005" if status == "LOOKED_AFTER" else None,
                "M1006" if status == "CHILD_PROTECTION" else None,
                status,
            ]
        )
    book.save(HERE / "mosaic" / "mosaic_export.xlsx")


if __name__ == "__main__":
    lcs()
    mosaic()
