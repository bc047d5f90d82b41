"""Secrets a provider echoes back are scrubbed before they leave the process: from results,
and from whatever a library prints to stderr on its own."""

from __future__ import annotations

import json
import os
import subprocess

from pydantic import SecretStr

from monitor.checks.base import Outcome, Reason, Target
from monitor.checks.whatsapp import WhatsAppCheck, WhatsAppSettings
from monitor.redaction import REDACTED, Redactor
from monitor.runner import Runner
from tests.fakes.providers import (
    CANARIES,
    CUSTOMER_PATH,
    GRAPH_VERSION,
    WABA_ID,
    WABA_PATH,
    graph_error,
    provider_env,
    stripe_customer,
)
from tests.fakes.server import FakeServer, Reply, Request
from tests.support.daemon import monitor_command


async def test_runner__token_echoed_by_graph_is_redacted(fake_server: FakeServer) -> None:
    """A Graph error that quotes the access token shows on the dashboard with the token scrubbed."""
    token = CANARIES["WHATSAPP_ACCESS_TOKEN"]
    fake_server.route(WABA_PATH, graph_error(190, f"Malformed access token {token}", subcode=463))
    settings = WhatsAppSettings(
        access_token=SecretStr(token),
        business_account_id=WABA_ID,
        graph_api_url=fake_server.url,
        graph_api_version=GRAPH_VERSION,
    )
    target = Target("whatsapp", "whatsapp", WhatsAppCheck(settings, timeout_seconds=2.0))
    runner = Runner([target], timeout_seconds=2.0, redactor=Redactor([token]))

    result = (await runner.run_cycle())["whatsapp"]

    assert result.reason is Reason.AUTH
    published = json.dumps(result.to_json())
    assert token not in published
    assert f"Malformed access token {REDACTED}" in result.outcome.message
    assert result.outcome.details["fbtrace_id"] == "AbCdEfGhIjKlMnOp"


class EchoingKeysCheck:
    """Connected, with a provider fact keyed by what the provider echoed: the token."""

    def __init__(self, token: str) -> None:
        self.token = token

    async def run(self) -> Outcome:
        """Report details whose keys hold the token."""
        return Outcome.connected("fine", {self.token: {f"scope:{self.token}": [self.token]}})


def test_redactor__scrubs_mapping_keys_too() -> None:
    """A secret used as a key, at any depth, is scrubbed like a secret used as a value."""
    secret = CANARIES["RESEND_API_KEY"]
    scrubbed = Redactor([secret]).scrub_value({secret: {"nested": {f"k-{secret}": (secret,)}}})
    assert secret not in repr(scrubbed)
    assert scrubbed == {REDACTED: {"nested": {f"k-{REDACTED}": (REDACTED,)}}}


async def test_runner__token_in_a_details_key_is_redacted() -> None:
    """A provider fact keyed by an echoed token reaches the dashboard with the token scrubbed."""
    token = CANARIES["WHATSAPP_ACCESS_TOKEN"]
    target = Target("whatsapp", "whatsapp", EchoingKeysCheck(token))
    runner = Runner([target], timeout_seconds=2.0, redactor=Redactor([token]))

    result = (await runner.run_cycle())["whatsapp"]

    assert token not in json.dumps(result.to_json())
    assert result.outcome.details == {REDACTED: {f"scope:{REDACTED}": [REDACTED]}}


def echo_stripe_key(request: Request) -> Reply:
    """A customer whose name is the Authorization header: Stripe's debug log prints bodies."""
    customer = json.loads(stripe_customer().body)
    return Reply.json(200, {**customer, "name": request.headers["authorization"]})


def test_check__stripe_sdk_console_log_is_scrubbed(fake_server: FakeServer) -> None:
    """With STRIPE_LOG=debug, what the Stripe SDK prints to stderr by itself holds no secret."""
    fake_server.route(CUSTOMER_PATH, echo_stripe_key)
    env = {**provider_env(fake_server), "STRIPE_LOG": "debug", "MONITOR_LOG_FORMAT": "json"}
    done = subprocess.run(
        [*monitor_command(), "check", "--json"],
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Request to Stripe api" in done.stderr  # the SDK did print to stderr
    for secret in CANARIES.values():
        assert secret not in done.stderr
        assert secret not in done.stdout
    assert f"Bearer {REDACTED}" in done.stderr  # the echoed key, scrubbed on its way out
