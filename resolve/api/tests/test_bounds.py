"""Numbers in paths and queries are bounded: a huge one is a 422 naming the field, never a 500."""

import pytest

HUGE = "99999999999999999999999"


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("get", f"/challenges/{HUGE}", "challenge_id"),
        ("post", f"/challenges/{HUGE}/withdrawal", "challenge_id"),
        ("post", f"/challenges/1/actions/{HUGE}", "action_id"),
        ("get", f"/challenges?page={HUGE}", "page"),
        ("get", "/challenges?page=0", "page"),
        ("get", "/calendar/add-working-days?start=2026-12-21&days=367", "days"),
        ("get", "/calendar/add-working-days?start=2026-12-21&days=-1", "days"),
    ],
)
def test_out_of_range_numbers_are_refused(api_as, child, method, path, field):
    api = api_as("iro")
    response = api.get(path) if method == "get" else api.post(path, {"reason": "x", "status": "done"})
    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == field
