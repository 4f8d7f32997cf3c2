from django.apps import AppConfig
from django.db.models.signals import post_save


class NotificationsConfig(AppConfig):
    name = "resolve.notifications"
    label = "notifications"
    verbose_name = "Notifications and deadlines"

    def ready(self) -> None:
        from resolve.challenges.models import Action
        from resolve.notifications import signals

        # A challenge's write path schedules its deadlines before its new actions exist; this adds
        # theirs in the same transaction as the action row.
        post_save.connect(signals.action_saved, sender=Action, dispatch_uid="notifications_action_saved")
