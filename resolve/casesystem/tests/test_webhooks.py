"""Webhooks: a signed POST per event, through an outbox with retries.

Issue 15: "Webhooks (optional per authority): a signed POST to a configured URL on each event,
delivered through the same outbox with retries, for authorities that integrate by events rather than
files." The receiver is a real HTTP server on this machine.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.management import call_command
from django.utils import timezone

from resolve.casesystem.models import WebhookDelivery
from resolve.casesystem.webhooks import webhooks_deliver, webhooks_enqueue
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db
SECRET = "a-webhook-secret-of-at-least-32-characters"


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []
    answers: list[int] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        status = type(self).answers.pop(0) if type(self).answers else 204
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def receiver(settings) -> Iterator[type[Receiver]]:
    Receiver.received, Receiver.answers = [], []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.RESOLVE_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/hook"
    settings.RESOLVE_WEBHOOK_SECRET = SECRET
    yield Receiver
    server.shutdown()


def _raise(authority, child):
    return raise_challenge(
        authority,
        child,
        concern="Visits have not happened.",
        impact_on_child="The child has not been seen.",
        themes=["voice_of_child"],
    )


def test_each_event_is_posted_once_signed(authority, child, receiver):
    assert webhooks_enqueue() == 0  # turning webhooks on starts from now
    challenge = _raise(authority, child)
    assert webhooks_enqueue() == 1
    assert webhooks_deliver().sent == 1
    [(headers, body)] = receiver.received
    payload = json.loads(body)
    assert payload["event"]["type"] == "raised" and payload["event"]["challenge"] == challenge.pk
    assert "Visits" not in body.decode()  # no free text leaves by webhook
    stamp, signature = (part.split("=", 1)[1] for part in headers["Resolve-Signature"].split(","))
    expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    assert headers["Resolve-Delivery"] == str(payload["delivery"])
    # Nothing new: nothing sent again.
    assert webhooks_enqueue() == 0 and webhooks_deliver().sent == 0
    assert len(receiver.received) == 1


def test_a_failure_is_retried_with_back_off_then_given_up(authority, child, receiver, settings):
    settings.RESOLVE_OUTBOX_MAX_ATTEMPTS = 2
    webhooks_enqueue()
    _raise(authority, child)
    webhooks_enqueue()
    receiver.answers = [503, 500]
    assert webhooks_deliver().retried == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.last_error == "answered 503"
    assert webhooks_deliver().retried == 0  # not due yet
    later = timezone.now() + dt.timedelta(days=1)
    assert webhooks_deliver(now=later).failed == 1
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == 2
    assert [headers["Resolve-Delivery"] for headers, _ in receiver.received] == [str(delivery.pk)] * 2


def test_webhooks_are_off_without_an_address(authority, child, settings, capsys):
    settings.RESOLVE_WEBHOOK_URL = ""
    _raise(authority, child)
    assert webhooks_enqueue() == 0 and not WebhookDelivery.objects.exists()
    call_command("deliver_webhooks")
    assert "webhooks are off" in capsys.readouterr().out
