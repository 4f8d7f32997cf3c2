"""Single sign-on's two addresses: off to the identity provider, and back from it."""

from django.urls import path

from resolve.signin.views import SignOnCallbackView, SignOnStartView

# Not namespaced: mozilla-django-oidc reverses these names.
urlpatterns = [
    path("oidc/authenticate/", SignOnStartView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", SignOnCallbackView.as_view(), name="oidc_authentication_callback"),
]
