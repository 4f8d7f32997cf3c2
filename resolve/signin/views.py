"""Single sign-on's two views: off to the identity provider, and back from it (resolve/signin/urls.py)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from resolve.signin.selectors import sso_enabled


class SignOnStartView(OIDCAuthenticationRequestView):
    """Sends the browser to the identity provider; not there at all unless single sign-on is set up."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not sso_enabled():
            raise Http404("Single sign-on is not set up.")
        response: HttpResponse = super().get(request)
        return response


class SignOnCallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back; a refusal goes back to the sign-in page."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not sso_enabled():
            raise Http404("Single sign-on is not set up.")
        response: HttpResponse = super().get(request)
        return response

    def login_failure(self) -> HttpResponse:
        messages.error(
            self.request,
            "You could not be signed in with your organisation's account. Try again, or ask your IT "
            "service desk to check your account",
        )
        # The sign-in page belongs to resolve/web; naming it by the setting keeps this app free of
        # web's URL names (it is /sign-in/ either way).
        return redirect(settings.LOGIN_URL)
