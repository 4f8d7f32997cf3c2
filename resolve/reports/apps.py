from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "resolve.reports"
    label = "reports"
    verbose_name = "Reports: the IRO service's figures"
