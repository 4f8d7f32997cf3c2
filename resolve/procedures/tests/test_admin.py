from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory

from resolve.procedures.models import PolicyVersion
from resolve.procedures.selectors import procedure_get

pytestmark = [pytest.mark.django_db, pytest.mark.urls("resolve.procedures.tests.admin_urls")]


def test_policy_versions_are_read_only_in_admin(client: Client) -> None:
    superuser = get_user_model().objects.create_superuser("root", "root@example.com", "a-long-password-123")
    client.force_login(superuser)
    pv = procedure_get(key="national")
    assert client.get("/admin/policies/policyversion/").status_code == 200
    assert client.get(f"/admin/policies/policyversion/{pv.pk}/change/").status_code == 200
    # Even a superuser cannot add, change or delete a recorded version.
    request = RequestFactory().get("/admin/policies/policyversion/")
    request.user = superuser
    model_admin = admin.site.get_model_admin(PolicyVersion)
    assert model_admin.has_view_permission(request, pv)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, pv)
    assert not model_admin.has_delete_permission(request, pv)
