"""API tokens. Only a digest is stored: a token is shown once, when it is made."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "rsv_"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"API token for {self.user} ({self.label or 'no label'})"


def api_token_create(*, user: User, label: str = "") -> str:
    """Make a token for ``user`` and return it; it cannot be read back later."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, digest=token_digest(token), label=label)
    return token


IDEMPOTENCY_KEY_MAX_LENGTH = 200


class IdempotencyKey(models.Model):
    """The answer to the first API POST a user sent with an ``Idempotency-Key`` header.

    Written in the same transaction as the request's work, so it exists exactly when the work does; the
    unique (user, key) makes a second request with the key wait for the first and then replay its answer.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
    # sha256 of the method, the path and the body: the same key with another request is refused.
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True)
    body = models.TextField(blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="api_idempotency_key_per_user")]

    def __str__(self) -> str:
        return f"Idempotency key {self.key!r} of {self.user}"
