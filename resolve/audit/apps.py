from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "resolve.audit"
    label = "audit"
    verbose_name = "Access log and evidence"

    def ready(self) -> None:
        from resolve.audit import checks  # noqa: F401  (registers the deployment checks)
