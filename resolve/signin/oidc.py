"""Single sign-on over OpenID Connect (mozilla-django-oidc), with posts from the provider's groups.

The authentication backend; the two addresses the browser goes through are in views.py.

What is trusted, and why (docs/security.md, "Single sign-on"):

- The ID token, only after its signature is checked against the provider's published keys
  (``OIDC_OP_JWKS_ENDPOINT``, algorithm ``OIDC_RP_SIGN_ALGO`` only), its issuer is exactly
  ``OIDC_OP_ISSUER``, its audience includes our client id, it has not expired, and its nonce is the
  one this browser's session sent. The library leaves the audience and issuer unchecked and lets an
  expired token raise an unhandled error; ``_verify_jws`` below closes both.
- The userinfo answer, fetched with the access token from the configured endpoint, only when its
  ``sub`` is the ID token's. ID-token claims win where both have one.
- A person is found by one claim, ``RESOLVE_OIDC_USERNAME_CLAIM`` (default ``preferred_username``,
  Entra ID's user principal name), lower-cased, as their Resolve username; a local account with that
  username is the same person. Their posts follow the groups claim on every sign-in.
"""

from __future__ import annotations

import logging
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from resolve.people.services import posts_sync_from_groups
from resolve.signin.selectors import sso_enabled

logger = logging.getLogger(__name__)

# Entra ID sends this instead of the groups when a person is in too many (over 200) groups.
OVERAGE_CLAIM = "_claim_names"
# How far clocks may disagree when checking a token's times.
LEEWAY_SECONDS = 30


class ResolveOIDCBackend(OIDCAuthenticationBackend):
    """Signs in through the provider; finds or creates the person; brings their SSO posts up to date."""

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> AbstractBaseUser | None:
        # Only the callback view calls with a nonce; a password sign-in is never handled here, even
        # when its URL happens to carry ?code=&state=.
        if not sso_enabled() or request is None or "nonce" not in kwargs or "password" in kwargs:
            return None
        try:
            user: AbstractBaseUser | None = super().authenticate(request, **kwargs)
        except (SuspiciousOperation, jwt.InvalidTokenError, requests.RequestException, ValueError) as error:
            logger.warning("Single sign-on refused: %s", error)
            return None
        return user

    # -- the tokens -------------------------------------------------------------------------------
    def _verify_jws(self, payload: bytes | str, key: Any) -> dict[str, Any]:
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(
                f"ID token signed with {header.get('alg')!r}, not {self.OIDC_RP_SIGN_ALGO}."
            )
        try:
            claims: dict[str, Any] = jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_OP_ISSUER,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise SuspiciousOperation("ID token has expired.") from None
        except jwt.InvalidTokenError as error:
            raise SuspiciousOperation(f"ID token refused: {error}.") from None
        return claims

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        userinfo: dict[str, Any] = super().get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation(
                "The userinfo answer is about someone other than the ID token's subject."
            )
        return {**userinfo, **payload}

    # -- the person -------------------------------------------------------------------------------
    def _username(self, claims: dict[str, Any]) -> str:
        value = claims.get(settings.RESOLVE_OIDC_USERNAME_CLAIM)
        return value.strip().lower() if isinstance(value, str) else ""

    def _groups(self, claims: dict[str, Any]) -> list[str]:
        groups = claims.get(settings.RESOLVE_OIDC_GROUPS_CLAIM, [])
        if isinstance(groups, str):
            groups = [groups]
        return [group for group in groups if isinstance(group, str)]

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        username = self._username(claims)
        if not username or len(username) > 150:
            logger.warning(
                "Single sign-on refused: no usable %r claim (subject %s).",
                settings.RESOLVE_OIDC_USERNAME_CLAIM,
                claims.get("sub"),
            )
            return False
        claim = settings.RESOLVE_OIDC_GROUPS_CLAIM
        if claim in (claims.get(OVERAGE_CLAIM) or {}):
            # Guessing would give or take away posts wrongly: refuse, and say how to fix it.
            logger.error(
                "Single sign-on refused for %s: the provider sent a group overage instead of the groups "
                "(assign only the Resolve groups to the application in Entra ID).",
                username,
            )
            return False
        groups = claims.get(claim, [])
        if not isinstance(groups, list | str):
            logger.warning("Single sign-on refused for %s: the %r claim is not a list.", username, claim)
            return False
        return True

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        username = self._username(claims)
        if not username:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(username__iexact=username)

    def describe_user_by_claims(self, claims: dict[str, Any]) -> str:
        return f"{settings.RESOLVE_OIDC_USERNAME_CLAIM} {self._username(claims)}"

    def create_user(self, claims: dict[str, Any]) -> AbstractBaseUser:
        # No usable password: a person made by single sign-on can only sign in through it.
        user = self.UserModel.objects.create_user(self._username(claims), email=claims.get("email") or "")
        logger.warning("Single sign-on created the account %s.", user.get_username())
        return self.update_user(user, claims)

    def update_user(self, user: AbstractBaseUser, claims: dict[str, Any]) -> AbstractBaseUser:
        changed = []
        for field, claim in (("email", "email"), ("first_name", "given_name"), ("last_name", "family_name")):
            value = claims.get(claim)
            if isinstance(value, str) and value.strip() and getattr(user, field) != value.strip():
                setattr(user, field, value.strip()[:150])
                changed.append(field)
        if changed:
            user.save(update_fields=changed)
        if user.is_active:
            posts_sync_from_groups(
                user=user, groups=self._groups(claims), mapping=settings.RESOLVE_OIDC_GROUP_ROLES
            )
        return user
