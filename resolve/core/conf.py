"""Resolve's own settings, typed. ``config/settings.py`` reads each from the environment once, with its
one default and a message naming the variable when it is wrong; code reads them here, never with a
default of its own. Read at each use, so a test's ``override_settings`` is seen.
"""

from __future__ import annotations

from django.conf import settings


class _Conf:
    @property
    def base_url(self) -> str:
        """Where links in emails and calendar feeds point (``RESOLVE_BASE_URL``), without a final slash."""
        return str(settings.RESOLVE_BASE_URL).rstrip("/")

    @property
    def deliver_on_commit(self) -> bool:
        return bool(settings.RESOLVE_DELIVER_ON_COMMIT)

    @property
    def cap_warning_working_days(self) -> int:
        return int(settings.RESOLVE_CAP_WARNING_WORKING_DAYS)

    @property
    def action_reminder_working_days(self) -> int:
        return int(settings.RESOLVE_ACTION_REMINDER_WORKING_DAYS)

    @property
    def outbox_max_attempts(self) -> int:
        return int(settings.RESOLVE_OUTBOX_MAX_ATTEMPTS)

    @property
    def outbox_backoff_base_seconds(self) -> int:
        return int(settings.RESOLVE_OUTBOX_BACKOFF_BASE_SECONDS)

    @property
    def outbox_backoff_max_seconds(self) -> int:
        return int(settings.RESOLVE_OUTBOX_BACKOFF_MAX_SECONDS)

    @property
    def outbox_claim_timeout_seconds(self) -> int:
        return int(settings.RESOLVE_OUTBOX_CLAIM_TIMEOUT_SECONDS)

    @property
    def break_glass_minutes(self) -> int:
        return int(settings.RESOLVE_BREAK_GLASS_MINUTES)

    @property
    def trust_x_forwarded_for(self) -> bool:
        return bool(settings.RESOLVE_TRUST_X_FORWARDED_FOR)

    @property
    def sso_enabled(self) -> bool:
        return bool(settings.RESOLVE_SSO_ENABLED)

    @property
    def admin_requires_otp(self) -> bool:
        return bool(settings.RESOLVE_ADMIN_REQUIRES_OTP)

    @property
    def kept_statements_checked(self) -> bool:
        """Build each kept statement again on every call and compare (``RESOLVE_KEPT_STATEMENTS_CHECKED``)."""
        return bool(settings.RESOLVE_KEPT_STATEMENTS_CHECKED)

    @property
    def sweep_interval_seconds(self) -> int:
        return int(settings.RESOLVE_SWEEP_INTERVAL_SECONDS)

    @property
    def sweep_lease_seconds(self) -> int:
        """How long a sweep holds its lease without renewing it (``RESOLVE_SWEEP_LEASE_SECONDS``)."""
        return int(settings.RESOLVE_SWEEP_LEASE_SECONDS)

    @property
    def sweep_batch_size(self) -> int:
        return int(settings.RESOLVE_SWEEP_BATCH_SIZE)

    @property
    def sweep_stale_minutes(self) -> int:
        """No sweep completed for this long is an alert (``RESOLVE_SWEEP_STALE_MINUTES``)."""
        return int(settings.RESOLVE_SWEEP_STALE_MINUTES)

    @property
    def word_template(self) -> str:
        """A .docx whose styles, header and footer the Word documents use (``RESOLVE_WORD_TEMPLATE``)."""
        return str(settings.RESOLVE_WORD_TEMPLATE)


conf = _Conf()
