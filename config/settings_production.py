"""Production: the base settings, with every protection for the web surface switched on.

Run with ``DJANGO_SETTINGS_MODULE=config.settings_production``; SECRET_KEY and ALLOWED_HOSTS must come
from the environment. ``manage.py check --deploy`` reports nothing with these settings (tested).
"""

import os

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int

if env_bool("DEBUG", default=False):
    raise ImproperlyConfigured("DEBUG must be off with config.settings_production.")
if len(os.environ.get("SECRET_KEY", "")) < 50:
    raise ImproperlyConfigured("Set SECRET_KEY to a random value of at least 50 characters.")

if not (os.environ.get("RESOLVE_EVIDENCE_KEY") or os.environ.get("RESOLVE_EVIDENCE_KEY_FILE")):
    raise ImproperlyConfigured(
        "Set RESOLVE_EVIDENCE_KEY (or RESOLVE_EVIDENCE_KEY_FILE) to a random secret of at least 32 "
        "characters, kept outside the database: it keys the evidence chains."
    )

from config.settings import *  # noqa: F403

DEBUG = False

# HTTPS only: redirect, then tell browsers to use nothing else for a year.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"

# Administrators always sign in to the admin site with a one-time password.
RESOLVE_ADMIN_REQUIRES_OTP = True
