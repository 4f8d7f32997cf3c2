"""Case notes are never edited: a correction is a new note linked to the original, and both are shown."""

from __future__ import annotations

import time_machine

from resolve.api.tests.helpers import raise_challenge
from resolve.children.models import CaseNote

TODAY = "2027-01-04 10:00"


@time_machine.travel(TODAY, tick=False)
def test_a_correction_is_added_and_the_original_kept(api_as, child):
    iro = api_as("iro")
    raise_challenge(iro, child.case_number, on="2027-01-04")
    original = CaseNote.objects.get(child=child)
    before = (original.note_type, original.body, original.hash)

    response = iro.post(
        f"/case-notes/{original.pk}/corrections", {"body": "The concern was raised by phone."}
    )
    assert response.status_code == 201, response.content
    correction = response.json()
    assert correction["corrects"] == original.pk
    assert correction["note_type"] == f"Correction: {original.note_type}"
    assert correction["by"] == "iro" and correction["on"] == "2027-01-04"

    original.refresh_from_db()
    assert (original.note_type, original.body, original.hash) == before
    notes = iro.get(f"/children/{child.case_number}/case-notes").json()
    assert [note["id"] for note in notes] == [original.pk, correction["id"]]
    assert notes[0]["corrections"] == [correction["id"]]


@time_machine.travel(TODAY, tick=False)
def test_a_correction_needs_text_and_a_note_the_user_can_see(api_as, child):
    iro = api_as("iro")
    raise_challenge(iro, child.case_number, on="2027-01-04")
    note = CaseNote.objects.get(child=child)
    empty = iro.post(f"/case-notes/{note.pk}/corrections", {"body": ""})
    assert empty.status_code == 422 and empty.json()["error"]["field"] == "body"
    outsider = api_as("social_worker_2").post(f"/case-notes/{note.pk}/corrections", {"body": "x"})
    missing = iro.post("/case-notes/999999/corrections", {"body": "x"})
    assert outsider.status_code == missing.status_code == 404
    assert outsider.json() == missing.json()
    assert CaseNote.objects.filter(child=child).count() == 1
