from django.urls import path

import resolve.core.converters  # noqa: F401  (registers <id:...>)
from resolve.notifications import views

app_name = "notifications"
urlpatterns = [
    path("notifications/", views.notifications, name="list"),
    path("notifications/read/", views.mark_read, name="mark_read"),
    path("notifications/<id:notification_id>/", views.notification_detail, name="open"),
    path("notifications/email/", views.email_preference, name="email_preference"),
    path("notifications/calendar/reset/", views.calendar_reset, name="calendar_reset"),
    path("calendar/<str:secret>.ics", views.calendar, name="calendar"),
    # For monitors, unauthenticated: whether the deadline sweep is completing (docs/deploying.md).
    path("healthz", views.healthz, name="healthz"),
]
