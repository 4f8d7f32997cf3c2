"""Writes of the loaded procedures: recording a new version when a procedure file changes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction

from resolve.procedures.loader import ProcedureError, procedure_load_dir_files
from resolve.procedures.models import PolicyVersion
from resolve.procedures.schema import Procedure


@dataclass(frozen=True)
class ProcedureSyncResult:
    created: list[PolicyVersion] = field(default_factory=list)
    unchanged: list[PolicyVersion] = field(default_factory=list)


def procedure_document(procedure: Procedure) -> tuple[dict[str, Any], str]:
    """The JSON document stored for ``procedure`` and the SHA-256 of its canonical form.

    The hash is of the validated content, not of the file's bytes, so a change to comments or layout
    in the TOML is not a new version, while any change to what the engine reads is.
    """
    document = procedure.model_dump(mode="json")
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return document, hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def procedure_sync(directory: Path | str, *, using: str = DEFAULT_DB_ALIAS) -> ProcedureSyncResult:
    """Record every procedure in ``directory`` whose content differs from its latest recorded version.

    All or nothing: every file is validated first, and one transaction records the new versions and
    makes each the current one. A changed file must declare a higher version than the one recorded,
    because a recorded version is evidence of what challenges were held to and is never rewritten.
    Versions are never deleted, and a file removed from the folder leaves its versions as they are.
    """
    loaded = procedure_load_dir_files(directory)
    result = ProcedureSyncResult()
    problems: list[str] = []
    with transaction.atomic(using=using):
        for file, procedure in loaded:
            document, sha256 = procedure_document(procedure)
            versions = PolicyVersion.objects.using(using).select_for_update().filter(key=procedure.key)
            latest = versions.order_by("-version").first()
            if latest is not None and latest.sha256 == sha256:
                if not latest.is_current:
                    versions.filter(is_current=True).update(is_current=False)
                    versions.filter(pk=latest.pk).update(is_current=True)
                    latest.is_current = True
                result.unchanged.append(latest)
                continue
            if latest is not None and procedure.version <= latest.version:
                problems.append(
                    f"{file}: version: the content of procedure {procedure.key!r} differs from its recorded "
                    f"version {latest.version}, but the file declares version {procedure.version}; recorded "
                    f"versions are never changed, so set version = {latest.version + 1} to record the change"
                )
                continue
            versions.filter(is_current=True).update(is_current=False)
            created = PolicyVersion.objects.using(using).create(
                key=procedure.key,
                version=procedure.version,
                name=procedure.name,
                authority=procedure.authority,
                nation=procedure.nation.value,
                document=document,
                sha256=sha256,
                is_current=True,
            )
            result.created.append(created)
        if problems:
            # Leaving the block by an exception rolls back whatever this run recorded.
            raise ProcedureError(problems)
    return result
