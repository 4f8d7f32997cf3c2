from django.apps import AppConfig


class ChallengesConfig(AppConfig):
    name = "resolve.challenges"
    label = "challenges"
