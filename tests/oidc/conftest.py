"""A real OpenID Connect provider (tests/oidc/provider.mjs, the npm package oidc-provider) for the
sign-on tests, started once per test session with ``node`` and stopped afterwards."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("provider.mjs")
CALLBACK = "http://testserver/oidc/callback/"
CLIENT_ID = "resolve"
CLIENT_SECRET = "resolve-test-secret"
# A second application registered at the same provider, for token-substitution tests.
OTHER_CLIENT_ID = "other-app"
OTHER_CLIENT_SECRET = "other-app-secret"
START_TIMEOUT_SECONDS = 20


@dataclass
class Provider:
    issuer: str
    discovery: dict[str, Any]

    def account_put(self, account_id: str, **claims: Any) -> None:
        """Create or change the provider's account ``account_id`` (its claims, groups included)."""
        answer = requests.put(f"{self.issuer}/test/accounts/{account_id}", json=claims, timeout=5)
        answer.raise_for_status()


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[Provider]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the sign-on tests need it to run the OpenID Connect provider")
    if not (ROOT / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("node_modules/oidc-provider is missing: run `npm ci` (or `make setup`)", pytrace=False)
    process = subprocess.Popen(
        [
            node,
            str(SCRIPT),
            "--redirect-uri",
            CALLBACK,
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Keep reading stderr so the provider never blocks on a full pipe; show it if it fails to start.
    errors: list[str] = []
    threading.Thread(target=lambda: errors.extend(process.stderr or []), daemon=True).start()
    line: list[str] = []
    stdout = process.stdout
    assert stdout is not None
    reader = threading.Thread(target=lambda: line.append(stdout.readline()))
    reader.start()
    reader.join(START_TIMEOUT_SECONDS)
    try:
        if not line or not line[0].strip():
            process.kill()
            pytest.fail(f"The OpenID Connect provider did not start:\n{''.join(errors)}", pytrace=False)
        issuer = json.loads(line[0])["issuer"]
        discovery = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=5).json()
        yield Provider(issuer=issuer, discovery=discovery)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
