"""The load benchmark's users (``make bench-load``): people using the API, eight requests in ten reads.

Each simulated user waits 1 to 3 s between requests, as a person clicking through does. The token,
the challenge ids and the children's case numbers come from the environment, written by
``bench/load_run.py`` after it built the database.
"""

from __future__ import annotations

import os
import random

from locust import HttpUser, between, task

TOKEN = os.environ.get("RESOLVE_LOAD_TOKEN", "")
CHALLENGES = [int(pk) for pk in os.environ.get("RESOLVE_LOAD_CHALLENGES", "").split(",") if pk]
CHILDREN = [case for case in os.environ.get("RESOLVE_LOAD_CHILDREN", "").split(",") if case]
# Production settings behind a proxy that ends TLS: say the request came over HTTPS.
HEADERS = {"Authorization": f"Bearer {TOKEN}", "X-Forwarded-Proto": "https"}


class Person(HttpUser):
    wait_time = between(1, 3)

    @task(3)
    def list_open(self) -> None:
        self.client.get("/api/v1/challenges?status=open", headers=HEADERS, name="GET /challenges?status=open")

    @task(2)
    def list_all(self) -> None:
        self.client.get("/api/v1/challenges", headers=HEADERS, name="GET /challenges")

    @task(3)
    def read_one(self) -> None:
        self.client.get(
            f"/api/v1/challenges/{random.choice(CHALLENGES)}", headers=HEADERS, name="GET /challenges/{id}"
        )

    @task(1)
    def add_learning_points(self) -> None:
        self.client.post(
            f"/api/v1/challenges/{random.choice(CHALLENGES)}/learning-points",
            json={"learning_points": "Agree the plan at the review."},
            headers=HEADERS,
            name="POST /challenges/{id}/learning-points",
        )

    @task(1)
    def raise_challenge(self) -> None:
        self.client.post(
            "/api/v1/challenges",
            json={
                "child": random.choice(CHILDREN),
                "track": "iro",
                "concern": "The care plan has not been updated since the last review.",
                "impact_on_child": "The move to her grandparents is delayed.",
            },
            headers=HEADERS,
            name="POST /challenges",
        )
