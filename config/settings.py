"""Django settings for Resolve. Every value that differs between machines comes from the environment."""

from __future__ import annotations

import hashlib
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str
from resolve.core.limits import MAX_BODY_BYTES
from resolve.people.sso import GroupPost, group_roles_parse

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)
# These settings serve a developer's machine and the demo, so commands such as `check_procedure` run
# with nothing set. A real deployment runs config.settings_production, which refuses to start
# without a strong SECRET_KEY.
SECRET_KEY = env_str("SECRET_KEY", default="insecure-local-only-key-not-for-production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "resolve.calendars",
    "resolve.procedures",
    "resolve.people",
    "resolve.children",
    "resolve.challenges",
    "resolve.api",
    "resolve.web",
    "resolve.notifications",
    "resolve.reports",
    "django_tasks",
    "django_tasks_db",
    "resolve.audit",
    "resolve.casesystem",
    "resolve.exports",
    "resolve.signin",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Refuse a NUL, an unpaired surrogate or an oversized body before any view reads it (400/413).
    "resolve.web.middleware.RequestGuardMiddleware",
    # Nothing under /api/ is kept by a browser or proxy: its answers carry children's data.
    "resolve.web.middleware.ApiNoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Who is asking, from where: read by the access chokepoint to write the access log.
    "resolve.access.context.RequestContextMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

# A request body past this is refused with 413 (resolve.core.limits, docs/api.md).
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_BODY_BYTES

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", default=60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers go on while a write is under way; the busy timeout waits for a lock
    # instead of failing the request at once.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif env_bool("DATABASE_PREPARED_STATEMENTS", default=True):
    # PostgreSQL plans every statement it is sent afresh, and planning the read of one challenge
    # (eight tables and six lists of its rows) costs it several times the reading. With every value
    # bound on the server, the chokepoint's two reads of one challenge for a page or a change (kept
    # statements read with ``prepared=True``, ``resolve.core.kept``) are prepared on their first run,
    # and the server keeps their plans for the connection's life (DATABASE_CONN_MAX_AGE); every other
    # statement is planned for its own values. Turn this off behind a pooler that shares server
    # connections a transaction at a time and does not carry prepared statements (docs/deploying.md).
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# GOV.UK Frontend's fonts, images and scripts, installed from npm by `make setup`.
STATICFILES_DIRS = [("govuk", BASE_DIR / "node_modules" / "govuk-frontend" / "dist" / "govuk")]

LOGIN_URL = "/sign-in/"

EMAIL_BACKEND = env_str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env_int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", default="resolve@localhost")
# Where the file email backend (django.core.mail.backends.filebased, as `make demo` uses) writes.
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", default=str(BASE_DIR / ".make" / "demo-email"))

# Where the procedure files live; each is validated when loaded.
RESOLVE_POLICY_DIR = Path(env_str("RESOLVE_POLICY_DIR", default=str(BASE_DIR / "policies")))
# The procedure a challenge follows when the request names none.
RESOLVE_DEFAULT_POLICY = env_str("RESOLVE_DEFAULT_POLICY", default="national")

# Deadlines and notifications (docs/deadlines.md). The worker (`manage.py run_worker`) runs the tasks
# stored in the database by django-tasks' database backend.
TASKS = {
    "default": {
        "BACKEND": env_str("RESOLVE_TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}
# Where the links in emails and the calendar feed point, e.g. https://resolve.example.gov.uk
RESOLVE_BASE_URL = env_str("RESOLVE_BASE_URL", default="http://127.0.0.1:8000")
# An authority's own .docx (letterhead, fonts): the Word documents take its styles, header and footer.
RESOLVE_WORD_TEMPLATE = env_str("RESOLVE_WORD_TEMPLATE", default="")
if RESOLVE_WORD_TEMPLATE and not Path(RESOLVE_WORD_TEMPLATE).is_file():
    raise ImproperlyConfigured(f"RESOLVE_WORD_TEMPLATE names no file: {RESOLVE_WORD_TEMPLATE}")
RESOLVE_SWEEP_INTERVAL_SECONDS = env_int("RESOLVE_SWEEP_INTERVAL_SECONDS", default=300)
RESOLVE_DELIVER_INTERVAL_SECONDS = env_int("RESOLVE_DELIVER_INTERVAL_SECONDS", default=60)
# Enqueue a delivery as soon as a change with messages commits (else the next periodic run sends them).
RESOLVE_DELIVER_ON_COMMIT = env_bool("RESOLVE_DELIVER_ON_COMMIT", default=True)
# Build every kept statement again on each call and compare (resolve/core/kept.py): the test suite
# turns it on; it costs the time the keeping saves, so leave it off in production.
RESOLVE_KEPT_STATEMENTS_CHECKED = env_bool("RESOLVE_KEPT_STATEMENTS_CHECKED", default=False)
RESOLVE_DIGEST_HOUR = env_int("RESOLVE_DIGEST_HOUR", default=7)
RESOLVE_CAP_WARNING_WORKING_DAYS = env_int("RESOLVE_CAP_WARNING_WORKING_DAYS", default=3)
RESOLVE_ACTION_REMINDER_WORKING_DAYS = env_int("RESOLVE_ACTION_REMINDER_WORKING_DAYS", default=1)
RESOLVE_OUTBOX_MAX_ATTEMPTS = env_int("RESOLVE_OUTBOX_MAX_ATTEMPTS", default=8)
RESOLVE_OUTBOX_BACKOFF_BASE_SECONDS = env_int("RESOLVE_OUTBOX_BACKOFF_BASE_SECONDS", default=60)
RESOLVE_OUTBOX_BACKOFF_MAX_SECONDS = env_int("RESOLVE_OUTBOX_BACKOFF_MAX_SECONDS", default=6 * 3600)
RESOLVE_OUTBOX_CLAIM_TIMEOUT_SECONDS = env_int("RESOLVE_OUTBOX_CLAIM_TIMEOUT_SECONDS", default=600)
# How long a break-glass access to a record outside one's scope lasts.
# The evidence key: HMAC-SHA256 over every link of the evidence chains (resolve/audit/sealing.py),
# kept outside the database so that whoever can write the database cannot re-seal what they changed.
# RESOLVE_EVIDENCE_KEY_FILE names a file with one key a line, the current key first and retired keys
# after it (still used to verify the rows they sealed); RESOLVE_EVIDENCE_KEY gives one key instead.
# Without either, development and tests use a key derived from SECRET_KEY, and production refuses
# to start (config/settings_production.py).
RESOLVE_EVIDENCE_KEYS: list[str] = []
if _evidence_key_file := env_str("RESOLVE_EVIDENCE_KEY_FILE", default=""):
    try:
        RESOLVE_EVIDENCE_KEYS = [
            line.strip()
            for line in Path(_evidence_key_file).read_text().splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]
    except OSError as error:
        raise ImproperlyConfigured(f"RESOLVE_EVIDENCE_KEY_FILE cannot be read: {error}") from None
    if not RESOLVE_EVIDENCE_KEYS:
        raise ImproperlyConfigured("RESOLVE_EVIDENCE_KEY_FILE holds no key.")
elif _evidence_key := env_str("RESOLVE_EVIDENCE_KEY", default=""):
    RESOLVE_EVIDENCE_KEYS = [_evidence_key]
if any(len(key) < 32 for key in RESOLVE_EVIDENCE_KEYS):
    raise ImproperlyConfigured(
        "Each evidence key (RESOLVE_EVIDENCE_KEY[_FILE]) needs at least 32 characters."
    )
RESOLVE_EVIDENCE_KEY_DERIVED = not RESOLVE_EVIDENCE_KEYS
if RESOLVE_EVIDENCE_KEY_DERIVED:
    RESOLVE_EVIDENCE_KEYS = [
        "derived:" + hashlib.sha256(b"resolve-evidence-key\0" + SECRET_KEY.encode()).hexdigest()
    ]
# Where anchor_evidence appends the daily signed digest of every chain head: point it at storage the
# database (and its administrators) cannot rewrite, such as a WORM volume or a bucket with retention.
RESOLVE_EVIDENCE_ANCHOR_DIR = env_str("RESOLVE_EVIDENCE_ANCHOR_DIR", default="")
RESOLVE_BREAK_GLASS_MINUTES = env_int("RESOLVE_BREAK_GLASS_MINUTES", default=30)
# Behind a reverse proxy, log the client's address from X-Forwarded-For (its right-most entry).
RESOLVE_TRUST_X_FORWARDED_FOR = env_bool("RESOLVE_TRUST_X_FORWARDED_FOR", default=False)

# -- the case system (docs/case-system.md) ---------------------------------------------------------
# Where export_case_notes writes the case notes for the case system to load (a folder an operator may
# mount as an SFTP drop or a share), and where export_extracts writes the data warehouse's extracts.
RESOLVE_CASE_SYSTEM_DIR = env_str("RESOLVE_CASE_SYSTEM_DIR", default="")
RESOLVE_EXTRACTS_DIR = env_str("RESOLVE_EXTRACTS_DIR", default="")
# The authority's retention schedule for records that are not a looked-after child's (those are kept
# until the 75th birthday by law): years after the date of birth; unset, such records are not
# proposed for disposal until the authority sets it (docs/case-system.md).
RESOLVE_RETENTION_CHILD_PROTECTION_YEARS: int | None = (
    env_int("RESOLVE_RETENTION_CHILD_PROTECTION_YEARS", default=0) or None
)
RESOLVE_RETENTION_CHILD_IN_NEED_YEARS: int | None = (
    env_int("RESOLVE_RETENTION_CHILD_IN_NEED_YEARS", default=0) or None
)
# Webhooks (optional): a signed POST to this address for every event on a challenge, with retries
# (docs/case-system.md#webhooks). The secret signs each body; at least 32 characters.
RESOLVE_WEBHOOK_URL = env_str("RESOLVE_WEBHOOK_URL", default="")
RESOLVE_WEBHOOK_SECRET = env_str("RESOLVE_WEBHOOK_SECRET", default="")
if RESOLVE_WEBHOOK_URL and len(RESOLVE_WEBHOOK_SECRET) < 32:
    raise ImproperlyConfigured(
        "RESOLVE_WEBHOOK_URL is set: set RESOLVE_WEBHOOK_SECRET too, at least 32 characters."
    )
if RESOLVE_WEBHOOK_URL and not RESOLVE_WEBHOOK_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured("RESOLVE_WEBHOOK_URL must be an http:// or https:// address.")

# -- signing in ------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out username from that address
    "django.contrib.auth.backends.ModelBackend",
]
# Single sign-on over OpenID Connect (docs/security.md). Off unless OIDC_RP_CLIENT_ID is set; then
# every other value it needs must be set too, and the group mapping must parse.
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID", default="")
RESOLVE_SSO_ENABLED = bool(OIDC_RP_CLIENT_ID)
# Which claim names the person (their Resolve username), and which lists their groups.
RESOLVE_OIDC_USERNAME_CLAIM = env_str("RESOLVE_OIDC_USERNAME_CLAIM", default="preferred_username")
if RESOLVE_OIDC_USERNAME_CLAIM not in {"preferred_username", "email", "upn"}:
    raise ImproperlyConfigured(
        "RESOLVE_OIDC_USERNAME_CLAIM must be preferred_username, email or upn, "
        f"not {RESOLVE_OIDC_USERNAME_CLAIM!r}."
    )
RESOLVE_OIDC_GROUPS_CLAIM = env_str("RESOLVE_OIDC_GROUPS_CLAIM", default="groups")
RESOLVE_OIDC_GROUP_ROLES: dict[str, tuple[GroupPost, ...]] = {}
# Required once single sign-on is on (env_str without a default fails naming the variable); empty
# otherwise, so the sign-on views can answer 404.
_SSO_REQUIRED = None if RESOLVE_SSO_ENABLED else ""
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET", default=_SSO_REQUIRED)
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT", default=_SSO_REQUIRED)
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT", default=_SSO_REQUIRED)
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT", default=_SSO_REQUIRED)
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT", default=_SSO_REQUIRED)
# The ID token's "iss" must be exactly this, e.g. https://login.microsoftonline.com/<tenant id>/v2.0
OIDC_OP_ISSUER = env_str("OIDC_OP_ISSUER", default=_SSO_REQUIRED)
if RESOLVE_SSO_ENABLED:
    RESOLVE_OIDC_GROUP_ROLES = group_roles_parse(
        env_str("RESOLVE_OIDC_GROUP_ROLES"), variable="RESOLVE_OIDC_GROUP_ROLES"
    )
    AUTHENTICATION_BACKENDS.append("resolve.signin.oidc.ResolveOIDCBackend")
OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", default="RS256")
if OIDC_RP_SIGN_ALGO not in {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}:
    # Only the provider's published public keys may vouch for a token: no shared-secret algorithms.
    raise ImproperlyConfigured(
        f"OIDC_RP_SIGN_ALGO must be RS256 (or another RS/ES algorithm), not {OIDC_RP_SIGN_ALGO!r}."
    )
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", default="openid email profile")
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT_SECONDS", default=10)
OIDC_CREATE_USER = env_bool("RESOLVE_OIDC_CREATE_USERS", default=True)
OIDC_STORE_ID_TOKEN = False
OIDC_STORE_ACCESS_TOKEN = False
LOGIN_REDIRECT_URL = "web:home"
# Lock a username out from an address after this many failed sign-ins, for AXES_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", default=30) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if RESOLVE_TRUST_X_FORWARDED_FOR else ["REMOTE_ADDR"]
)
# Sign people out after this long without a request (every request renews the session).
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", default=30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
# The admin site asks for a one-time password from an enrolled device (manage.py totp_enrol).
# Always on in config/settings_production.py.
RESOLVE_ADMIN_REQUIRES_OTP = env_bool("RESOLVE_ADMIN_REQUIRES_OTP", default=False)
OTP_TOTP_ISSUER = "Resolve"

# -- the web surface -------------------------------------------------------------------------------
# Only our own scripts, styles, fonts and images; no inline code, no framing, forms post to us only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", default="WARNING")},
}

# -- worker reliability (docs/deadlines.md) ----------------------------------------------------------
# Seconds before an SMTP connection attempt or command gives up; a delivery's claim outlives it.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", default=30)
# One sweep at a time holds the sweep's lease; it renews it after each batch of
# RESOLVE_SWEEP_BATCH_SIZE deadlines, so a batch must finish well inside the lease. A worker killed
# mid-sweep leaves the lease to expire; the next sweep takes over.
RESOLVE_SWEEP_LEASE_SECONDS = env_int("RESOLVE_SWEEP_LEASE_SECONDS", default=120)
RESOLVE_SWEEP_BATCH_SIZE = env_int("RESOLVE_SWEEP_BATCH_SIZE", default=500)
# No sweep completed for this long: `manage.py sweep_health` fails, /healthz says "stale" and the
# IRO/CP Service Managers are told (once per this period). Default: three sweep intervals.
RESOLVE_SWEEP_STALE_MINUTES = env_int(
    "RESOLVE_SWEEP_STALE_MINUTES", default=max(1, -(-3 * RESOLVE_SWEEP_INTERVAL_SECONDS // 60))
)
if RESOLVE_OUTBOX_CLAIM_TIMEOUT_SECONDS <= 4 * EMAIL_TIMEOUT:
    # A send is several SMTP commands, each allowed EMAIL_TIMEOUT: a claim must outlive them all, or a
    # second worker could recover the row while the first is still sending it.
    raise ImproperlyConfigured(
        "RESOLVE_OUTBOX_CLAIM_TIMEOUT_SECONDS must be more than four times EMAIL_TIMEOUT, "
        f"not {RESOLVE_OUTBOX_CLAIM_TIMEOUT_SECONDS} with EMAIL_TIMEOUT {EMAIL_TIMEOUT}."
    )

# django-axes counts failures against the real client address, which only the trusted proxy knows
# (RESOLVE_TRUST_X_FORWARDED_FOR); one function decides it for axes and the access log alike.
AXES_CLIENT_IP_CALLABLE = "resolve.access.context.client_ip"
