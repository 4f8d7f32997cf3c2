"""Changing who works with a child through the API: those who add children, recorded on the child's record."""

from __future__ import annotations

import pytest

from resolve.api.tests.helpers import refused, unchanged
from resolve.children.models import CaseNote
from resolve.children.services import ALLOCATION_NOTE

pytestmark = pytest.mark.django_db


def test_the_administrator_reallocates_a_child_and_the_change_is_on_the_record(api_as, child):
    path = f"/children/{child.case_number}/allocation"
    response = api_as("admin").post(path, {"social_worker": "social_worker_2", "iro": "iro"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["social_worker"] == "social_worker_2"
    assert body["team"] != ""
    child.refresh_from_db()
    assert child.social_worker.username == "social_worker_2"
    note = CaseNote.objects.filter(child=child, note_type=ALLOCATION_NOTE).get()
    assert "Social worker" in note.body and "to " in note.body


def test_others_may_not_reallocate_and_unknown_children_are_404(api_as, child):
    path = f"/children/{child.case_number}/allocation"
    with unchanged():
        refused(lambda: api_as("team_manager").post(path, {"social_worker": "social_worker_2"}), 403)
        refused(lambda: api_as("admin").post("/children/NOSUCH1/allocation", {"social_worker": "x"}), 404)
        same = {
            "social_worker": child.social_worker.username,
            "iro": child.iro.username,
            "cp_chair": child.cp_chair.username if child.cp_chair else None,
        }
        refused(lambda: api_as("admin").post(path, same), 422, "no_change")
