from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "resolve.exports"
    label = "exports"
    verbose_name = "Documents produced from the record (forms, briefings, chronologies)"

    def ready(self) -> None:
        from resolve.exports import checks  # noqa: F401  (registers the Word and chronology templates' checks)
