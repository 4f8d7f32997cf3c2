from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "resolve.api"
    label = "api"
