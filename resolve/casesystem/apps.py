from django.apps import AppConfig


class CaseSystemConfig(AppConfig):
    name = "resolve.casesystem"
    label = "casesystem"
    verbose_name = "Case system"
