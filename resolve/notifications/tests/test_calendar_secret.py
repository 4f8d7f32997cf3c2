"""Calendar feed secrets are stored only as their SHA-256 (issue 10 item 13)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.test import Client

from resolve.notifications.models import NotificationPreference, calendar_secret_digest
from resolve.notifications.services import calendar_secret_reset, preference_get

pytestmark = pytest.mark.django_db

migration = importlib.import_module("resolve.notifications.migrations.0006_calendar_secret_hashed")


def test_only_the_digest_is_stored_and_the_new_address_works(authority: Any) -> None:
    user = authority.staff["social_worker"]
    secret = calendar_secret_reset(user=user)
    stored = preference_get(user=user).calendar_secret
    assert stored == calendar_secret_digest(secret) and secret not in stored
    assert Client().get(f"/calendar/{secret}.ics").status_code == 200
    # The stored digest is not itself an address.
    assert Client().get(f"/calendar/{stored}.ics").status_code == 404


def test_a_new_preference_opens_no_feed_until_its_owner_makes_an_address(authority: Any) -> None:
    preference = preference_get(user=authority.staff["iro"])
    assert len(preference.calendar_secret) == 64
    assert Client().get(f"/calendar/{preference.calendar_secret}.ics").status_code == 404


def test_the_page_shows_the_address_once_when_it_is_made(client: Client, authority: Any) -> None:
    user = authority.staff["social_worker"]
    client.force_login(user)
    assert "app-calendar-url" not in client.get("/notifications/").content.decode()
    made = client.post("/notifications/calendar/reset/")
    assert made.status_code == 200
    html = made.content.decode()
    start = html.index("/calendar/")
    secret = html[start + len("/calendar/") : html.index(".ics", start)]
    assert preference_get(user=user).calendar_secret == calendar_secret_digest(secret)
    assert Client().get(f"/calendar/{secret}.ics").status_code == 200
    assert secret not in client.get("/notifications/").content.decode()


def test_the_migration_hashes_existing_secrets_so_old_addresses_keep_working(authority: Any) -> None:
    user = authority.staff["social_worker"]
    preference_get(user=user)
    old_secret = "an-address-already-in-outlook-before-the-migration"
    NotificationPreference.objects.filter(user=user).update(calendar_secret=old_secret)
    migration.hash_existing(apps, None)
    assert preference_get(user=user).calendar_secret == calendar_secret_digest(old_secret)
    assert Client().get(f"/calendar/{old_secret}.ics").status_code == 200
