"""The platform account's phone number gauges (contract §11): per quality, and how many can send,
from the WhatsApp check's results against a fake Graph API on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from pydantic import SecretStr

from monitor.checks.base import CheckFailed, CheckResult, Outcome, Reason
from monitor.checks.whatsapp import WhatsAppCheck, WhatsAppSettings
from monitor.metrics import MonitorMetrics
from tests.fakes.graph_numbers import (
    APP_ID,
    numbers_edge,
    phone_number,
    subscribed_apps,
    subscribed_apps_path,
    with_numbers,
)
from tests.fakes.providers import (
    CANARIES,
    GRAPH_VERSION,
    WABA_ID,
    WABA_PATH,
    graph_account,
    provider_env,
)
from tests.fakes.server import FakeServer
from tests.support.daemon import running_daemon
from tests.support.promtool import check_metrics

T0 = datetime(2026, 1, 1, tzinfo=UTC)
QUALITIES = ("GREEN", "YELLOW", "RED", "UNKNOWN")


async def result_for(fake_server: FakeServer, *numbers: dict[str, Any]) -> CheckResult:
    """The check's result when the fake account has `numbers`."""
    edge = numbers_edge(*numbers) if numbers else None
    fake_server.route(WABA_PATH, with_numbers(graph_account(), edge))
    token = SecretStr(CANARIES["WHATSAPP_ACCESS_TOKEN"])
    check = WhatsAppCheck(WhatsAppSettings(token, WABA_ID, fake_server.url, GRAPH_VERSION), 2.0)
    try:
        outcome = await check.run()
    except CheckFailed as failure:
        outcome = Outcome.failed(failure)
    return CheckResult(outcome, T0, 5.0)


def gauges(metrics: MonitorMetrics) -> tuple[dict[str, float | None], float | None]:
    """(numbers per quality, sendable) as exported."""
    registry = metrics.registry
    by_quality = {
        q: registry.get_sample_value("integration_whatsapp_phone_numbers", {"quality": q})
        for q in QUALITIES
    }
    return by_quality, registry.get_sample_value("integration_whatsapp_phone_numbers_sendable")


def new_metrics(integrations: tuple[str, ...] = ("whatsapp", "stripe")) -> MonitorMetrics:
    return MonitorMetrics(CollectorRegistry(), integrations, timeout_seconds=10)


def test_phone_number_gauges__precreated_at_zero() -> None:
    """Before any result every quality series exists at 0, and promtool finds nothing to say."""
    metrics = new_metrics()

    assert gauges(metrics) == (dict.fromkeys(QUALITIES, 0.0), 0.0)
    done = check_metrics(generate_latest(metrics.registry).decode())
    assert (done.returncode, done.stdout.strip(), done.stderr.strip()) == (0, "", "")


def test_phone_number_gauges__absent_when_whatsapp_is_not_used() -> None:
    """MONITOR_INTEGRATIONS without whatsapp: no phone number series at all."""
    text = generate_latest(new_metrics(("stripe", "email")).registry).decode()

    assert "integration_whatsapp_phone_numbers" not in text


async def test_phone_number_gauges__count_each_quality_and_the_sendable(
    fake_server: FakeServer,
) -> None:
    """Five numbers: NA and an unknown rating count as UNKNOWN; CONNECTED and FLAGGED send."""
    metrics = new_metrics()
    result = await result_for(
        fake_server,
        phone_number(0),
        phone_number(1, status="FLAGGED", quality="RED"),
        phone_number(2, status="BANNED", quality="NA"),
        phone_number(3, status="PENDING", quality="PURPLE"),
        phone_number(4, quality="YELLOW"),
    )

    metrics.observe_result("whatsapp", result)

    assert gauges(metrics) == ({"GREEN": 1, "YELLOW": 1, "RED": 1, "UNKNOWN": 2}, 3)
    text = generate_latest(metrics.registry).decode()
    assert WABA_ID not in text
    assert "555-010" not in text


async def test_phone_number_gauges__follow_results_that_read_numbers(
    fake_server: FakeServer,
) -> None:
    """A blocked account (no number sends) and an account without numbers set the gauges; a
    result that could not read them (an expired token) keeps the last known values."""
    metrics = new_metrics()
    metrics.observe_result("whatsapp", await result_for(fake_server, phone_number(0)))
    expired = CheckResult(Outcome.failed(CheckFailed(Reason.AUTH, "expired")), T0, 5.0)

    metrics.observe_result("whatsapp", expired)
    assert gauges(metrics) == ({"GREEN": 1, "YELLOW": 0, "RED": 0, "UNKNOWN": 0}, 1)

    banned = await result_for(fake_server, phone_number(0, status="BANNED", quality="RED"))
    metrics.observe_result("whatsapp", banned, counted=False)
    assert banned.reason is Reason.BLOCKED
    assert gauges(metrics) == ({"GREEN": 0, "YELLOW": 0, "RED": 1, "UNKNOWN": 0}, 0)

    none = await result_for(fake_server)
    metrics.observe_result("whatsapp", none)
    assert none.reason is Reason.NOT_FOUND
    assert gauges(metrics) == (dict.fromkeys(QUALITIES, 0.0), 0.0)


def test_phone_number_gauges__not_configured_is_zero() -> None:
    """WhatsApp not configured: no account, no numbers."""
    metrics = new_metrics()
    details = {"phone_numbers": [{"status": "CONNECTED", "quality_rating": "GREEN"}]}
    metrics.observe_result("whatsapp", CheckResult(Outcome.connected("ok", details), T0, 5.0))

    metrics.observe_result("whatsapp", CheckResult(Outcome.not_configured("unset"), T0, 0.0))

    assert gauges(metrics) == (dict.fromkeys(QUALITIES, 0.0), 0.0)


def test_phone_number_gauges__other_integrations_leave_them_alone() -> None:
    """Another integration's details never move the WhatsApp gauges."""
    metrics = new_metrics()
    details = {"phone_numbers": [{"status": "CONNECTED", "quality_rating": "GREEN"}]}

    metrics.observe_result("stripe", CheckResult(Outcome.connected("ok", details), T0, 5.0))

    assert gauges(metrics) == (dict.fromkeys(QUALITIES, 0.0), 0.0)


def test_phone_number_gauges__served_by_the_daemon(fake_server: FakeServer) -> None:
    """The running daemon lists the numbers in the JSON and counts them on /metrics."""
    edge = numbers_edge(phone_number(0), phone_number(1, status="FLAGGED", quality="RED"))
    fake_server.route(WABA_PATH, with_numbers(graph_account(), edge))
    fake_server.route(subscribed_apps_path(WABA_PATH), subscribed_apps(APP_ID))
    env = {**provider_env(fake_server), "WHATSAPP_APP_ID": APP_ID}
    with running_daemon(env) as daemon:
        whatsapp = daemon.get("/api/integrations/status").json()["integrations"]["whatsapp"]
        exposition = daemon.get("/metrics").text
    assert whatsapp["status"] == "connected"
    assert "+1 555-010-0001 is at risk (status FLAGGED, quality RED)" in whatsapp["message"]
    assert [n["display_phone_number"] for n in whatsapp["details"]["phone_numbers"]] == [
        "+1 555-010-0000",
        "+1 555-010-0001",
    ]
    assert 'integration_whatsapp_phone_numbers{quality="GREEN"} 1.0' in exposition
    assert 'integration_whatsapp_phone_numbers{quality="RED"} 1.0' in exposition
    assert "integration_whatsapp_phone_numbers_sendable 2.0" in exposition
    assert len(fake_server.requests_to(subscribed_apps_path(WABA_PATH))) == 1
    done = check_metrics(exposition)
    assert (done.returncode, done.stdout.strip(), done.stderr.strip()) == (0, "", "")
