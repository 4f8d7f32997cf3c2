from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path

from resolve.api.api import api
from resolve.api.audit import router as audit_router
from resolve.api.casesystem import router as casesystem_router
from resolve.api.exports import router as exports_router
from resolve.api.reports import router as reports_router
from resolve.signin.otp import ResolveAdminSite

# Break-glass and access review live in the audit app; they share the API's auth and error shape.
api.add_router("/", audit_router)
# Bulk import from the case system.
api.add_router("/", casesystem_router)
# The report's figures, as on the dashboard (resolve/reports).
api.add_router("/", reports_router)
# Documents (forms, briefings, chronologies) as files, scoped and logged like their records.
api.add_router("/", exports_router)
# The admin site asks for a one-time password when RESOLVE_ADMIN_REQUIRES_OTP is on.
admin.site.__class__ = ResolveAdminSite


def api_not_found(request: HttpRequest) -> JsonResponse:
    """Unknown paths under /api/ answer in the API's error shape, not with an HTML page."""
    message = "There is no such endpoint; see /api/v1/openapi.json."
    return JsonResponse({"error": {"code": "not_found", "message": message}}, status=404)


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    re_path(r"^api/", api_not_found),
    # Single sign-on (answers 404 unless OIDC_RP_CLIENT_ID is set).
    path("", include("resolve.signin.urls")),
    path("", include("resolve.notifications.urls")),
    path("", include("resolve.reports.urls")),
    # Documents to download (forms, briefings, chronologies): before the pages, whose patterns are wider.
    path("", include("resolve.exports.urls")),
    path("", include("resolve.web.urls")),
]
