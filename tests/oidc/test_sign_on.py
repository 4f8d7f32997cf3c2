"""Single sign-on against a real OpenID Connect provider (oidc-provider, run by node).

The Django test client is Resolve's side of the browser; a ``requests`` session is the browser at
the provider, where the test signs the account in. Everything between (authorisation request with
PKCE and nonce, code exchange, ID token signature and claims, userinfo, posts from groups) is real.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import jwt
import pytest
import requests
import time_machine
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.test import Client

from oidc.conftest import (
    CALLBACK,
    CLIENT_ID,
    CLIENT_SECRET,
    OTHER_CLIENT_ID,
    OTHER_CLIENT_SECRET,
    Provider,
)
from resolve.people.demo import Authority
from resolve.people.models import Post
from resolve.people.sso import group_roles_parse
from resolve.signin.oidc import ResolveOIDCBackend

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def sso(settings: Any, oidc_provider: Provider, authority: Authority) -> Provider:
    """Resolve configured for the local provider, as the environment would configure it."""
    found = oidc_provider.discovery
    chairs = authority.teams["chairs"].name
    settings.RESOLVE_SSO_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = found["authorization_endpoint"]
    settings.OIDC_OP_TOKEN_ENDPOINT = found["token_endpoint"]
    settings.OIDC_OP_USER_ENDPOINT = found["userinfo_endpoint"]
    settings.OIDC_OP_JWKS_ENDPOINT = found["jwks_uri"]
    settings.OIDC_OP_ISSUER = found["issuer"]
    settings.OIDC_RP_SCOPES = "openid email profile groups"
    settings.RESOLVE_OIDC_GROUP_ROLES = group_roles_parse(
        json.dumps(
            {
                "Resolve IROs": {"role": "iro", "team": chairs},
                "Resolve IRO managers": [
                    {"role": "iro_team_manager", "team": chairs},
                    {"role": "iro_service_manager"},
                ],
                "Resolve Director": {"role": "director"},
            }
        ),
        variable="RESOLVE_OIDC_GROUP_ROLES",
    )
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "resolve.signin.oidc.ResolveOIDCBackend",
    ]
    return oidc_provider


def _at_provider(provider: Provider, location: str, account: str) -> str:
    """Be the browser at the provider: sign ``account`` in, and return where it sends us back to."""
    browser = requests.Session()
    url = location
    for _ in range(10):
        params = {"account": account} if "/interaction/" in urlsplit(url).path else None
        answer = browser.get(url, params=params, allow_redirects=False, timeout=10)
        assert answer.status_code in {302, 303}, answer.text
        url = urljoin(url, answer.headers["Location"])
        if url.startswith(CALLBACK):
            return url
    raise AssertionError("the provider never sent the browser back")


def sign_in(client: Client, provider: Provider, account: str, *, around_callback: Any = None) -> Any:
    """The whole journey: Resolve's button, the provider, and back to Resolve's callback."""
    start = client.get("/oidc/authenticate/", {"next": "/challenges/"})
    assert start.status_code == 302
    assert start["Location"].startswith(provider.discovery["authorization_endpoint"] + "?")
    query = dict(parse_qsl(urlsplit(start["Location"]).query))
    assert query["code_challenge_method"] == "S256" and query["nonce"] and query["state"]
    callback = _at_provider(provider, start["Location"], account)
    if around_callback is None:
        return client.get(callback)
    with around_callback:
        return client.get(callback)


def posts_of(username: str) -> set[tuple[str, str | None, bool]]:
    return {
        (post.role, post.team.name if post.team else None, post.from_sso)
        for post in Post.objects.filter(user__username=username).select_related("team")
    }


def signed_in_as(client: Client) -> str | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id).get_username() if user_id else None


JO = {
    "preferred_username": "Jo.Bloggs@Council.example",
    "email": "jo.bloggs@council.example",
    "given_name": "Jo",
    "family_name": "Bloggs",
}


def test_first_sign_in_creates_the_person_with_the_posts_their_groups_give(
    sso: Provider, authority: Authority
) -> None:
    sso.account_put("jo-sub", **JO, groups=["Resolve IROs", "All staff"])
    client = Client()
    answer = sign_in(client, sso, "jo-sub")
    assert answer.status_code == 302 and answer["Location"] == "/challenges/"
    assert signed_in_as(client) == "jo.bloggs@council.example"
    jo = User.objects.get(username="jo.bloggs@council.example")
    assert (jo.email, jo.first_name, jo.last_name) == ("jo.bloggs@council.example", "Jo", "Bloggs")
    assert not jo.has_usable_password() and not jo.is_staff and not jo.is_superuser
    assert posts_of(jo.username) == {("iro", authority.teams["chairs"].name, True)}
    assert client.get("/challenges/").status_code == 200


def test_the_callback_cannot_be_replayed(sso: Provider) -> None:
    sso.account_put("jo-sub", **JO, groups=["Resolve IROs"])
    client = Client()
    start = client.get("/oidc/authenticate/")
    callback = _at_provider(sso, start["Location"], "jo-sub")
    assert client.get(callback).status_code == 302
    assert signed_in_as(client) == "jo.bloggs@council.example"
    # Someone else with the same callback address (say, from a proxy log) gets nowhere.
    stranger = Client()
    answer = stranger.get(callback)
    assert answer.status_code == 302 and answer["Location"] == "/sign-in/"
    assert signed_in_as(stranger) is None


def test_a_later_sign_in_follows_changed_groups_and_never_touches_posts_made_by_hand(
    sso: Provider, authority: Authority
) -> None:
    chairs = authority.teams["chairs"]
    sso.account_put("jo-sub", **JO, groups=["Resolve IROs"])
    sign_in(Client(), sso, "jo-sub")
    jo = User.objects.get(username="jo.bloggs@council.example")
    # An administrator gives Jo two posts by hand, one of which the new groups would also give.
    Post.objects.create(user=jo, role="principal_social_worker")
    Post.objects.create(user=jo, role="iro_service_manager")

    sso.account_put("jo-sub", **JO, groups=["Resolve IRO managers"])
    client = Client()
    assert sign_in(client, sso, "jo-sub").status_code == 302
    assert signed_in_as(client) == jo.username
    assert posts_of(jo.username) == {
        ("iro_team_manager", chairs.name, True),
        ("iro_service_manager", None, False),  # made by hand: kept, not taken over
        ("principal_social_worker", None, False),
    }

    # Out of every Resolve group: the SSO posts go, the hand-made ones stay.
    sso.account_put("jo-sub", **JO, groups=[])
    sign_in(Client(), sso, "jo-sub")
    assert posts_of(jo.username) == {
        ("iro_service_manager", None, False),
        ("principal_social_worker", None, False),
    }


def test_an_existing_local_account_with_that_username_is_the_same_person(
    sso: Provider, authority: Authority
) -> None:
    existing = User.objects.create_user("sam.smith@council.example", password="a-long-local-password-1")
    sso.account_put("sam-sub", preferred_username="SAM.SMITH@council.example", groups=["Resolve Director"])
    client = Client()
    sign_in(client, sso, "sam-sub")
    assert signed_in_as(client) == existing.username
    assert User.objects.filter(username__iexact="sam.smith@council.example").count() == 1
    assert posts_of(existing.username) == {("director", None, True)}


def test_a_person_in_no_mapped_group_signs_in_with_no_roles(sso: Provider) -> None:
    sso.account_put("kim-sub", preferred_username="kim@council.example", groups=["All staff", "Finance"])
    client = Client()
    answer = sign_in(client, sso, "kim-sub")
    assert answer.status_code == 302
    assert signed_in_as(client) == "kim@council.example"
    assert posts_of("kim@council.example") == set()


def test_a_deactivated_person_cannot_sign_on(sso: Provider) -> None:
    User.objects.create_user("lee@council.example", is_active=False)
    sso.account_put("lee-sub", preferred_username="lee@council.example", groups=["Resolve Director"])
    client = Client()
    answer = sign_in(client, sso, "lee-sub")
    assert answer["Location"] == "/sign-in/" and signed_in_as(client) is None
    assert posts_of("lee@council.example") == set()


# -- tokens that must be refused ------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _payload_edited(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["groups"] = ["Resolve Director"]
    return ".".join([header, _b64(json.dumps(claims).encode()), signature])


def _signed_by_another_key(token: str) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["groups"] = ["Resolve Director"]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def _unsigned(token: str) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["groups"] = ["Resolve Director"]
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.encode(claims, "", algorithm="none", headers={"kid": kid})


@pytest.mark.parametrize("tamper", [_payload_edited, _signed_by_another_key, _unsigned])
def test_a_tampered_id_token_is_refused(
    sso: Provider,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tamper: Callable[[str], str],
) -> None:
    real_get_token = ResolveOIDCBackend.get_token

    def get_token(self: ResolveOIDCBackend, payload: dict[str, Any]) -> dict[str, Any]:
        tokens: dict[str, Any] = real_get_token(self, payload)
        return {**tokens, "id_token": tamper(tokens["id_token"])}

    monkeypatch.setattr(ResolveOIDCBackend, "get_token", get_token)
    sso.account_put("kim-sub", preferred_username="kim@council.example", groups=["All staff"])
    client = Client()
    answer = sign_in(client, sso, "kim-sub")
    assert answer.status_code == 302 and answer["Location"] == "/sign-in/"
    assert signed_in_as(client) is None
    assert not User.objects.filter(username="kim@council.example").exists()
    assert not Post.objects.filter(role="director", from_sso=True).exists()
    assert "Single sign-on refused" in caplog.text
    page = client.get("/sign-in/")
    assert "could not be signed in with your organisation" in page.content.decode()


def _token_for_other_app(provider: Provider, account: str, nonce: str) -> str:
    """A genuine ID token, signed by the provider, but issued to another application."""
    query = {
        "response_type": "code",
        "client_id": OTHER_CLIENT_ID,
        "redirect_uri": CALLBACK,
        "scope": "openid email profile groups",
        "state": "other-app-state",
        "nonce": nonce,
    }
    location = f"{provider.discovery['authorization_endpoint']}?{urlencode(query)}"
    code = dict(parse_qsl(urlsplit(_at_provider(provider, location, account)).query))["code"]
    tokens = requests.post(
        provider.discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": OTHER_CLIENT_ID,
            "client_secret": OTHER_CLIENT_SECRET,
        },
        timeout=10,
    ).json()
    return str(tokens["id_token"])


def test_an_id_token_issued_to_another_application_is_refused(
    sso: Provider, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Token substitution: the provider's signature is good, the nonce matches, the audience does not."""
    sso.account_put("kim-sub", preferred_username="kim@council.example", groups=["Resolve Director"])
    client = Client()
    start = client.get("/oidc/authenticate/")
    nonce = dict(parse_qsl(urlsplit(start["Location"]).query))["nonce"]
    substitute = _token_for_other_app(sso, "kim-sub", nonce)
    real_get_token = ResolveOIDCBackend.get_token

    def get_token(self: ResolveOIDCBackend, payload: dict[str, Any]) -> dict[str, Any]:
        return {**real_get_token(self, payload), "id_token": substitute}

    monkeypatch.setattr(ResolveOIDCBackend, "get_token", get_token)
    answer = client.get(_at_provider(sso, start["Location"], "kim-sub"))
    assert answer["Location"] == "/sign-in/" and signed_in_as(client) is None
    assert not User.objects.filter(username="kim@council.example").exists()
    assert "Audience doesn't match" in caplog.text


def test_an_expired_id_token_is_refused(sso: Provider, caplog: pytest.LogCaptureFixture) -> None:
    """The provider's ID tokens live 5 minutes; arriving 10 minutes later (the session is still alive)."""
    sso.account_put("kim-sub", preferred_username="kim@council.example", groups=["Resolve IROs"])
    client = Client()
    later = time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10))
    answer = sign_in(client, sso, "kim-sub", around_callback=later)
    assert answer.status_code == 302 and answer["Location"] == "/sign-in/"
    assert signed_in_as(client) is None
    assert not User.objects.filter(username="kim@council.example").exists()
    assert "ID token has expired" in caplog.text


def test_the_sign_in_page_offers_the_organisation_account(sso: Provider) -> None:
    page = Client().get("/sign-in/", {"next": "/children/"}).content.decode()
    assert "Sign in with your organisation's account" in page
    assert 'href="/oidc/authenticate/?next=%2Fchildren%2F"' in page


def test_without_sign_on_set_up_there_is_no_button_and_no_sign_on(client: Client) -> None:
    assert "organisation's account" not in client.get("/sign-in/").content.decode()
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/", {"code": "x", "state": "y"}).status_code == 404
