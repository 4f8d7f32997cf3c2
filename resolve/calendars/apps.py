from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    name = "resolve.calendars"
    label = "calendars"
