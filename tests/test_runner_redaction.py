"""The runner scrubs secrets that a provider echoes back before a result leaves the process."""

from __future__ import annotations

import json

from pydantic import SecretStr

from monitor.checks.base import Reason, Target
from monitor.checks.whatsapp import WhatsAppCheck, WhatsAppSettings
from monitor.redaction import REDACTED, Redactor
from monitor.runner import Runner
from tests.fakes.providers import CANARIES, GRAPH_VERSION, WABA_ID, WABA_PATH, graph_error
from tests.fakes.server import FakeServer


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
