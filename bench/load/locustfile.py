"""The load benchmark's users (``make bench-load``): people using the API, eight requests in ten reads.

Each simulated user waits 1 to 3 s between requests, as a person clicking through does. The token,
the challenge ids and the children's case numbers come from the environment, written by
``bench/load_run.py`` after it built the database. With several servers (``RESOLVE_LOAD_HOSTS``)
each user keeps to one of them, as behind a load balancer; with ``RESOLVE_LOAD_ESCALATE`` one request
in ten asks to escalate one of a few challenges, so escalations race each other across servers.
"""

from __future__ import annotations

import os
import random

from locust import HttpUser, between, task

TOKEN = os.environ.get("RESOLVE_LOAD_TOKEN", "")
CHALLENGES = [int(pk) for pk in os.environ.get("RESOLVE_LOAD_CHALLENGES", "").split(",") if pk]
CHILDREN = [case for case in os.environ.get("RESOLVE_LOAD_CHILDREN", "").split(",") if case]
HOSTS = [host for host in os.environ.get("RESOLVE_LOAD_HOSTS", "").split(",") if host]
ESCALATE = bool(os.environ.get("RESOLVE_LOAD_ESCALATE"))
RACED = [int(pk) for pk in os.environ.get("RESOLVE_LOAD_RACED", "").split(",") if pk]
# Production settings behind a proxy that ends TLS: say the request came over HTTPS.
HEADERS = {"Authorization": f"Bearer {TOKEN}", "X-Forwarded-Proto": "https"}


class Person(HttpUser):
    wait_time = between(1, 3)

    def on_start(self) -> None:
        if HOSTS:
            self.client.base_url = random.choice(HOSTS)

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

    if ESCALATE:  # only in the scale-out run: keeps the plain run's mix as it was

        @task(1)
        def escalate(self) -> None:
            """Ask to escalate one of a few challenges: only the first ask from a stage may succeed; the
            rest are refused (409, or 422 at the last stage), which is the behaviour under test."""
            with self.client.post(
                f"/api/v1/challenges/{random.choice(RACED)}/escalations",
                json={"reason": "No reply within the timescale."},
                headers=HEADERS,
                name="POST /challenges/{id}/escalations",
                catch_response=True,
            ) as answer:
                if answer.status_code in (200, 409, 422):
                    answer.success()
