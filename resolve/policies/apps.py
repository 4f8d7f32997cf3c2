from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import post_migrate


class PoliciesConfig(AppConfig):
    name = "resolve.policies"
    label = "policies"
    verbose_name = "Procedures (policies)"

    def ready(self) -> None:
        # A migrated database always holds the procedures, so nothing has to remember to load them.
        post_migrate.connect(_sync_policies, sender=self, dispatch_uid="resolve.policies.sync")


def _sync_policies(
    sender: AppConfig, *, using: str = DEFAULT_DB_ALIAS, verbosity: int = 1, **kwargs: Any
) -> None:
    from django.conf import settings
    from django.core.management.base import CommandError
    from django.db import connections

    from resolve.policies.loader import PolicyError
    from resolve.policies.models import PolicyVersion
    from resolve.policies.services import policy_sync

    # Migrating backwards, or only some apps, can leave the table absent; there is nothing to fill.
    if PolicyVersion._meta.db_table not in connections[using].introspection.table_names():
        return
    try:
        result = policy_sync(settings.RESOLVE_POLICY_DIR, using=using)
    except PolicyError as exc:
        # Fail the migration loudly: a database without its procedures cannot raise a challenge.
        raise CommandError(
            f"The policy files in RESOLVE_POLICY_DIR ({settings.RESOLVE_POLICY_DIR}) have problems; "
            f"fix them and migrate again (no policy was recorded):\n{exc}"
        ) from exc
    if verbosity >= 1:
        for pv in result.created:
            print(f"  Recorded policy {pv.key} v{pv.version}")
