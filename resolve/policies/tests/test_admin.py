from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from resolve.policies.selectors import policy_get

pytestmark = pytest.mark.django_db


def test_policy_versions_are_read_only_in_admin(client: Client) -> None:
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "a-long-password-123")
    client.force_login(admin)
    pv = policy_get(key="national")
    assert client.get("/admin/policies/policyversion/").status_code == 200
    assert client.get(f"/admin/policies/policyversion/{pv.pk}/change/").status_code == 200
    assert client.get("/admin/policies/policyversion/add/").status_code == 403
    assert client.post(f"/admin/policies/policyversion/{pv.pk}/delete/", {"post": "yes"}).status_code == 403
    pv.refresh_from_db()
