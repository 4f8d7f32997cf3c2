from django.urls import path

from resolve.reports import views

app_name = "reports"
urlpatterns = [
    path("reports/", views.dashboard, name="dashboard"),
    # "/export" in the path: the access log records these as exports (resolve.access.context).
    path("reports/export/<slug:table>.<slug:kind>", views.export, name="export"),
]
