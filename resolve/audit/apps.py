from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "resolve.audit"
    label = "audit"
    verbose_name = "Access log and evidence"
