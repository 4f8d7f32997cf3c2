from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "resolve.people"
    label = "people"
