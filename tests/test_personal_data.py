"""Personal data (the Stripe customer's email): served over HTTP only behind MONITOR_API_TOKEN,
shown by the CLI to whoever holds the credentials."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from tests.fakes.providers import (
    CUSTOMER_ID,
    CUSTOMER_PATH,
    provider_env,
    stripe_customer,
    stripe_error,
)
from tests.fakes.server import FakeServer
from tests.support.daemon import Daemon, monitor_command, running_daemon, wait_for

EMAIL = "jenny.rosen@example.com"  # the fake Stripe customer's
TOKEN = "tok-personal-canary-51c0"
# Errors are reported at once, a recovery only after many good results, so a healed Stripe
# stays pending: its connected result, email included, is served as `last_result`.
THRESHOLDS = {
    "MONITOR_INTERVAL_SECONDS": "1",
    "MONITOR_CHECK_TIMEOUT_SECONDS": "0.5",
    "MONITOR_SUCCESS_THRESHOLD": "1000",
}


def stripe_entry(daemon: Daemon, headers: dict[str, str]) -> dict[str, Any]:
    """The stripe entry of the status API."""
    body = daemon.get("/api/integrations/status", headers=headers).json()
    entry: dict[str, Any] = body["integrations"]["stripe"]
    return entry


def answers(daemon: Daemon, headers: dict[str, str]) -> list[str]:
    """Every HTTP answer that carries results, as text."""
    return [
        daemon.get("/api/integrations/status", headers=headers).text,
        daemon.post("/api/integrations/refresh", headers=headers).text,
        daemon.get("/health", headers=headers).text,
    ]


def connected_then_pending(
    fake_server: FakeServer, daemon: Daemon, headers: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Walk Stripe through connected, error, and a pending recovery; the two entries seen."""
    wait_for(lambda: stripe_entry(daemon, headers)["status"] == "connected")
    connected = stripe_entry(daemon, headers)
    fake_server.route(CUSTOMER_PATH, stripe_error(500, "api_error", "Something went wrong"))
    wait_for(lambda: stripe_entry(daemon, headers)["status"] == "error")
    fake_server.route(CUSTOMER_PATH, stripe_customer())
    pending = wait_for(lambda: stripe_entry(daemon, headers).get("last_result"))
    return connected, pending


def test_http__without_a_token_no_email_in_any_answer(fake_server: FakeServer) -> None:
    """With no API token, the customer's email is in no answer, pending results included."""
    with running_daemon({**provider_env(fake_server), **THRESHOLDS}) as daemon:
        connected, pending = connected_then_pending(fake_server, daemon, {})
        outputs = answers(daemon, {})

    assert connected["details"] == {"customer_id": CUSTOMER_ID}
    assert pending["status"] == "connected"
    assert pending["details"] == {"customer_id": CUSTOMER_ID}
    assert all(EMAIL not in output for output in outputs)


def test_http__with_a_token_the_email_is_served(fake_server: FakeServer) -> None:
    """Behind the API token, the customer's email is served, in pending results too."""
    env = {**provider_env(fake_server), **THRESHOLDS, "MONITOR_API_TOKEN": TOKEN}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with running_daemon(env) as daemon:
        connected, pending = connected_then_pending(fake_server, daemon, auth)
        refreshed = daemon.post("/api/integrations/refresh", headers=auth).json()

    assert connected["details"] == {"customer_id": CUSTOMER_ID, "email": EMAIL}
    assert pending["details"] == {"customer_id": CUSTOMER_ID, "email": EMAIL}
    assert refreshed["integrations"]["stripe"]["last_result"]["details"]["email"] == EMAIL


def test_cli__check_shows_the_email(fake_server: FakeServer) -> None:
    """`check --json`, run by whoever holds the credentials, shows the customer's email."""
    done = subprocess.run(
        [*monitor_command(), "check", "--json"],
        env={"PATH": os.environ.get("PATH", ""), **provider_env(fake_server)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    details = json.loads(done.stdout)["integrations"]["stripe"]["details"]
    assert details == {"customer_id": CUSTOMER_ID, "email": EMAIL}
