from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "resolve.policies"
    label = "policies"
