"""Reads of the loaded procedures."""

from __future__ import annotations

from django.db.models import QuerySet

from resolve.procedures.models import PolicyVersion
from resolve.procedures.schema import Procedure

# Parsed models by (pk, sha256). A recorded version never changes, so an entry never goes stale;
# the hash guards against a primary key reused by another database (test runs roll back inserts).
_MODELS: dict[tuple[int, str], Procedure] = {}


def procedure_get(*, key: str) -> PolicyVersion:
    """The current version of the procedure ``key``; raises ``PolicyVersion.DoesNotExist`` if none."""
    return PolicyVersion.objects.get(key=key, is_current=True)


def procedure_list() -> QuerySet[PolicyVersion]:
    """The current version of every procedure, by key."""
    return PolicyVersion.objects.filter(is_current=True).order_by("key")


def procedure_version_list(*, key: str) -> QuerySet[PolicyVersion]:
    """Every recorded version of the procedure ``key``, newest first."""
    return PolicyVersion.objects.filter(key=key).order_by("-version")


# A list that reads its challenges' procedure versions with them (``select_related("policy")``) leaves
# out each version's document: decoding it for every row costs more than the rest of the row, and
# ``procedure_version_model`` parses a version once per process, reading the document only then.
PROCEDURE_DOCUMENT_DEFERRED = ("policy__document",)


def procedure_version_model(pv: PolicyVersion) -> Procedure:
    """The schema model of a recorded version, parsed once per process."""
    cache_key = (pv.pk, pv.sha256)
    model = _MODELS.get(cache_key)
    if model is None:
        model = Procedure.model_validate(pv.document)
        _MODELS[cache_key] = model
    return model


def procedure_model_for(*, policy_id: int, sha256: str) -> Procedure:
    """The schema model of the recorded version ``policy_id`` (whose document hashes to ``sha256``),
    parsed once per process: a caller that read only those two columns reads the document at most once."""
    model = _MODELS.get((policy_id, sha256))
    if model is None:
        model = procedure_version_model(PolicyVersion.objects.get(pk=policy_id))
    return model
