"""Read procedure files (TOML) and validate them against the schema.

Every problem becomes one line that names the file, the stage (by its key) and the field, so the
person editing a procedure can find it without reading a traceback::

    policies/rotherham.toml: stage "stage_2": response_working_days: must be at least 1
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from resolve.procedures.schema import Loc, Procedure, ProcedureProblems


class ProcedureError(ValueError):
    """One or more procedure files are unusable; ``problems`` holds one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def procedure_load_file(path: Path | str) -> Procedure:
    """The validated procedure in the TOML file at ``path``, or a ``ProcedureError`` listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProcedureError([f"{path}: cannot be read: {exc}"]) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends "(at line N, column M)", which is where the editor should look.
        raise ProcedureError([f"{path}: TOML syntax error: {exc}"]) from exc
    try:
        return Procedure.model_validate(data)
    except ValidationError as exc:
        raise ProcedureError(_problems(path, data, exc.errors())) from exc


def procedure_load_dir(path: Path | str) -> list[Procedure]:
    """Every ``*.toml`` procedure in the folder, in file-name order; refuses two files with one key."""
    return [procedure for _file, procedure in procedure_load_dir_files(path)]


def procedure_load_dir_files(path: Path | str) -> list[tuple[Path, Procedure]]:
    """As ``procedure_load_dir``, with the file each procedure came from (for messages that name it)."""
    directory = Path(path)
    if not directory.is_dir():
        raise ProcedureError([f"{directory}: is not a folder of procedure files"])
    procedures: list[tuple[Path, Procedure]] = []
    problems: list[str] = []
    owner: dict[str, Path] = {}
    for file in sorted(directory.glob("*.toml")):
        try:
            procedure = procedure_load_file(file)
        except ProcedureError as exc:
            problems.extend(exc.problems)
            continue
        if procedure.key in owner:
            problems.append(f'{file}: key: "{procedure.key}" is already the key of {owner[procedure.key]}')
            continue
        owner[procedure.key] = file
        procedures.append((file, procedure))
    if problems:
        raise ProcedureError(problems)
    return procedures


# -- turning pydantic's errors into sentences -------------------------------------------------------


def _problems(path: Path, data: Mapping[str, Any], errors: list[ErrorDetails]) -> list[str]:
    lines: list[str] = []
    for error in errors:
        loc: Loc = tuple(error["loc"])
        inner = (error.get("ctx") or {}).get("error")
        if isinstance(inner, ProcedureProblems):
            for sub_loc, message in inner.problems:
                lines.append(_line(path, data, loc + sub_loc, message))
        else:
            lines.append(_line(path, data, loc, _message(error)))
    return lines


def _line(path: Path, data: Mapping[str, Any], loc: Loc, message: str) -> str:
    parts = [str(path)]
    rest = loc
    if len(loc) >= 2 and loc[0] == "stages" and isinstance(loc[1], int):
        parts.append(_stage_name(data, loc[1]))
        rest = loc[2:]
    field = _dotted(rest)
    if field:
        parts.append(field)
    return ": ".join([*parts, message])


def _stage_name(data: Mapping[str, Any], index: int) -> str:
    stages = data.get("stages")
    if isinstance(stages, list) and index < len(stages) and isinstance(stages[index], Mapping):
        key = stages[index].get("key")
        if isinstance(key, str) and key:
            same = [stage.get("key") for stage in stages if isinstance(stage, Mapping)].count(key)
            # Two stages with one key: the key alone would not say which of them is meant.
            return f'stage "{key}"' if same == 1 else f'stage "{key}" (stages[{index}])'
    return f"stages[{index}]"


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field of a procedure (check the spelling and the table it sits in)"
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return "must be a whole number"
    if kind == "string_pattern_mismatch":
        return "must be lower case letters, digits and underscores, starting with a letter"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return error["msg"]
