"""A mapping file says how one case system's export reads: which column holds what, how its dates are
written, and what its codes mean in Resolve's words.

A mapping is TOML (``resolve/casesystem/mappings/*.toml`` ships two; ``docs/case-system.md`` explains
every key). It is validated when loaded, and every problem names the file, the section and the key, so
a mapping that would misread an export never reaches one.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from resolve.people.models import Team
from resolve.people.roles import ROLES

MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"

# The kinds of record an export carries, in the order an import applies them: teams before the
# people in them, people before the posts they hold, posts before the children allocated to them.
KINDS = ("teams", "staff", "posts", "children", "allocations")

LEGAL_STATUSES = {
    "looked_after": "Looked after",
    "child_protection": "Child protection",
    "child_in_need": "Child in need",
}

# For each kind: the fields Resolve reads (required first), and which of them are dates.
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "teams": (("name", "kind"), ()),
    "staff": (("username", "first_name", "last_name"), ("email", "left_on")),
    "posts": (("username", "role"), ("team",)),
    "children": (
        ("case_number", "first_name", "last_name", "date_of_birth", "social_worker"),
        ("iro", "cp_chair", "legal_status"),
    ),
    "allocations": (("case_number", "social_worker"), ("iro", "cp_chair", "legal_status")),
}
DATE_FIELDS = frozenset({"date_of_birth", "left_on"})

# The values a code list may translate into, per field.
CODE_TARGETS: dict[str, dict[str, str]] = {
    "kind": {kind.value: str(kind.label) for kind in Team.Kind},
    "role": {key: role.label for key, role in ROLES.items()},
    "legal_status": LEGAL_STATUSES,
}

_FORMAT_WORDS = {"%d": "DD", "%m": "MM", "%Y": "YYYY", "%y": "YY", "%b": "Mon", "%B": "Month"}
_FORMAT = re.compile(r"^(%[dmYybB]|[-/. ])+$")


class MappingError(Exception):
    """A mapping file that cannot be used; the message names the file and the key at fault."""


def date_format_words(fmt: str) -> str:
    """A date format as people read it: "%d/%m/%Y" → "DD/MM/YYYY"."""
    for code, words in _FORMAT_WORDS.items():
        fmt = fmt.replace(code, words)
    return fmt


@dataclass(frozen=True)
class Section:
    """How one kind of record is read: the file (CSV) or sheet (XLSX) that holds it, and its columns."""

    kind: str
    columns: dict[str, str]  # Resolve's field → the export's column heading
    file: str  # a file name pattern (fnmatch), for CSV exports
    sheet: str  # a sheet name, for XLSX exports
    codes: dict[str, dict[str, str]] = field(default_factory=dict)  # field → {export code: Resolve value}
    date_formats: tuple[str, ...] = ()

    def code(self, name: str, value: str) -> str | None:
        """The Resolve value for an export's code (case and spaces ignored), or None when unknown."""
        table = self.codes.get(name)
        if table is None:
            return value
        return table.get(value.strip().casefold())

    def date(self, value: str) -> dt.date | None:
        for fmt in self.date_formats:
            try:
                return dt.datetime.strptime(value.strip(), fmt).date()
            except ValueError:
                continue
        return None

    def date_words(self) -> str:
        return " or ".join(date_format_words(fmt) for fmt in self.date_formats)


@dataclass(frozen=True)
class Mapping:
    key: str
    name: str
    system: str
    status: str  # "example" or "documented"
    source: str  # where the column names come from
    sections: dict[str, Section]


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MappingError(f"{where}: give a non-empty text value.")
    return value.strip()


def _date_formats(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise MappingError(f'{where}: give a list of date formats such as ["%d/%m/%Y"].')
    formats = []
    for fmt in value:
        if (
            not isinstance(fmt, str)
            or not _FORMAT.match(fmt)
            or not {"%d", "%Y"} <= set(re.findall("%.", fmt))
        ):
            raise MappingError(
                f"{where}: {fmt!r} is not a date format Resolve reads; use %d, %m (or %b), %Y and "
                'separators, such as "%d/%m/%Y".'
            )
        formats.append(fmt)
    return tuple(formats)


def mapping_parse(data: dict[str, Any], *, key: str, where: str) -> Mapping:
    """Check a mapping's content and build it; every refusal names ``where`` and the key at fault."""
    known = {"source", "date_formats", *KINDS}
    for name in data:
        if name not in known:
            raise MappingError(
                f"{where}: [{name}] is not a section Resolve knows ({', '.join(sorted(known))})."
            )
    source = data.get("source")
    if not isinstance(source, dict):
        raise MappingError(f"{where}: add a [source] section with name, system, status and reference.")
    status = _str(source.get("status"), f"{where}: source.status")
    if status not in {"example", "documented"}:
        raise MappingError(f'{where}: source.status must be "example" or "documented", not {status!r}.')
    formats = _date_formats(data.get("date_formats", ["%d/%m/%Y"]), f"{where}: date_formats")
    sections: dict[str, Section] = {}
    for kind in KINDS:
        raw = data.get(kind)
        if raw is None:
            continue
        at = f"{where}: [{kind}]"
        if not isinstance(raw, dict):
            raise MappingError(f"{at}: must be a table.")
        for name in raw:
            if name not in {"file", "sheet", "columns", "codes", "date_formats"}:
                raise MappingError(
                    f"{at}: {name!r} is not a key Resolve reads (file, sheet, columns, codes, date_formats)."
                )
        required, optional = FIELDS[kind]
        columns = raw.get("columns")
        if not isinstance(columns, dict):
            raise MappingError(f'{at}: add columns = {{ {required[0]} = "<column heading>", ... }}.')
        for name, heading in columns.items():
            if name not in required and name not in optional:
                raise MappingError(
                    f"{at}: columns.{name} is not a field of {kind} "
                    f"(fields: {', '.join(required + optional)})."
                )
            _str(heading, f"{at}: columns.{name}")
        for name in required:
            if name not in columns:
                raise MappingError(f"{at}: columns.{name} is required: name the column that holds it.")
        codes: dict[str, dict[str, str]] = {}
        for name, table in (raw.get("codes") or {}).items():
            targets = CODE_TARGETS.get(name)
            if targets is None or name not in columns:
                raise MappingError(
                    f"{at}: codes.{name}: only a mapped column among {', '.join(sorted(CODE_TARGETS))} "
                    "takes a code list."
                )
            if not isinstance(table, dict) or not table:
                raise MappingError(f"{at}: codes.{name}: give a table of export code = Resolve value.")
            codes[name] = {}
            for code, value in table.items():
                if value not in targets:
                    raise MappingError(
                        f"{at}: codes.{name}.{code}: {value!r} is not one of {', '.join(sorted(targets))}."
                    )
                codes[name][str(code).strip().casefold()] = value
        sections[kind] = Section(
            kind=kind,
            columns={name: heading.strip() for name, heading in columns.items()},
            file=_str(raw.get("file", f"*{kind}*.csv"), f"{at}: file"),
            sheet=_str(raw.get("sheet", kind), f"{at}: sheet"),
            codes=codes,
            date_formats=_date_formats(raw["date_formats"], f"{at}: date_formats")
            if "date_formats" in raw
            else formats,
        )
    if not sections:
        raise MappingError(f"{where}: map at least one of {', '.join(KINDS)}.")
    return Mapping(
        key=key,
        name=_str(source.get("name"), f"{where}: source.name"),
        system=_str(source.get("system"), f"{where}: source.system"),
        status=status,
        source=_str(source.get("reference"), f"{where}: source.reference"),
        sections=sections,
    )


def mapping_load(name: str | Path) -> Mapping:
    """A shipped mapping by key (``lcs-example``), or a mapping file by path."""
    path = Path(name)
    if path.suffix != ".toml":
        path = MAPPINGS_DIR / f"{name}.toml"
        if not path.is_file():
            raise MappingError(
                f"There is no mapping called {str(name)!r}; shipped: {', '.join(mapping_keys())}."
            )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise MappingError(f"{path}: cannot be read ({error.strerror}).") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise MappingError(f"{path.name}: is not valid TOML ({error}).") from None
    return mapping_parse(data, key=path.stem, where=path.name)


def mapping_keys() -> list[str]:
    """The shipped mappings, by key."""
    return sorted(path.stem for path in MAPPINGS_DIR.glob("*.toml"))
