import time_machine


@time_machine.travel("2026-12-21 10:00", tick=False)
def test_raise_and_escalate(api_as, child):
    iro = api_as("iro")
    r = iro.post(
        "/challenges",
        {
            "child": child.case_number,
            "track": "iro",
            "policy": "challenge_and_resolution",
            "themes": ["placement"],
            "concern": "No statutory visit",
            "impact_on_child": "Unsafe",
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    print(body)
    r = iro.post(f"/challenges/{body['id']}/escalations", {})
    assert r.status_code == 200, r.content
    print(r.json()["stage"])
