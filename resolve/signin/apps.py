from django.apps import AppConfig


class SigninConfig(AppConfig):
    name = "resolve.signin"
    label = "signin"
    verbose_name = "Signing in"
