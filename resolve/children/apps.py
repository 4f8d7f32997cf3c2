from django.apps import AppConfig


class ChildrenConfig(AppConfig):
    name = "resolve.children"
    label = "children"
