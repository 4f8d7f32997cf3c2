from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import post_migrate


class ProceduresConfig(AppConfig):
    name = "resolve.procedures"
    label = "policies"
    verbose_name = "Procedures"

    def ready(self) -> None:
        # A migrated database always holds the procedures, so nothing has to remember to load them.
        post_migrate.connect(_sync_procedures, sender=self, dispatch_uid="resolve.procedures.sync")


def _sync_procedures(
    sender: AppConfig, *, using: str = DEFAULT_DB_ALIAS, verbosity: int = 1, **kwargs: Any
) -> None:
    from django.conf import settings
    from django.core.management.base import CommandError
    from django.db import connections

    from resolve.procedures.loader import ProcedureError
    from resolve.procedures.models import PolicyVersion
    from resolve.procedures.services import procedure_sync

    # Migrating backwards, or only some apps, can leave the table absent; there is nothing to fill.
    if PolicyVersion._meta.db_table not in connections[using].introspection.table_names():
        return
    try:
        result = procedure_sync(settings.RESOLVE_POLICY_DIR, using=using)
    except ProcedureError as exc:
        # Fail the migration loudly: a database without its procedures cannot raise a challenge.
        raise CommandError(
            f"The procedure files in RESOLVE_POLICY_DIR ({settings.RESOLVE_POLICY_DIR}) have problems; "
            f"fix them and migrate again (no procedure was recorded):\n{exc}"
        ) from exc
    if verbosity >= 1:
        for pv in result.created:
            print(f"  Recorded procedure {pv.key} v{pv.version}")
