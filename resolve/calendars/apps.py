from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class CalendarsConfig(AppConfig):
    name = "resolve.calendars"
    label = "calendars"
    verbose_name = "Working-day calendar"

    def ready(self) -> None:
        from resolve.calendars import signals
        from resolve.calendars.models import NonWorkingDay

        # Each migrate (and each test database) seeds the bank holidays; sender=self runs it once.
        post_migrate.connect(signals.calendar_seed_after_migrate, sender=self, dispatch_uid="calendars_seed")
        post_save.connect(
            signals.non_working_day_changed, sender=NonWorkingDay, dispatch_uid="calendars_saved"
        )
        post_delete.connect(
            signals.non_working_day_changed, sender=NonWorkingDay, dispatch_uid="calendars_deleted"
        )
