"""The organizations' phone numbers summed (contract §11): numbers per quality over every
organization's latest result, and organizations without a number that can send."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from monitor.checks.base import CheckFailed, CheckResult, Outcome, Reason
from monitor.fleet.metrics import FleetMetrics, FleetStateCollector
from monitor.fleet.state import FleetState
from monitor.store import Thresholds
from tests.fakes.graph_numbers import phone_number
from tests.support.promtool import check_metrics

T0 = datetime(2026, 1, 1, tzinfo=UTC)
QUALITIES = ("GREEN", "YELLOW", "RED", "UNKNOWN")


def numbers(*entries: dict[str, Any]) -> CheckResult:
    """A result that read these numbers (connected, or blocked when none can send)."""
    details = {"phone_numbers": [dict(entry) for entry in entries]}
    if any(entry["status"] in ("CONNECTED", "FLAGGED") for entry in entries):
        return CheckResult(Outcome.connected("ok", details), T0, 5.0)
    reason = Reason.BLOCKED if entries else Reason.NOT_FOUND
    return CheckResult(Outcome.failed(CheckFailed(reason, "none", details)), T0, 5.0)


def failed(reason: Reason) -> CheckResult:
    return CheckResult(Outcome.failed(CheckFailed(reason, "no answer")), T0, 5.0)


def exported(state: FleetState) -> CollectorRegistry:
    registry = CollectorRegistry()
    FleetMetrics(registry, state.integrations, timeout_seconds=10)
    registry.register(FleetStateCollector(state))
    return registry


def sums(state: FleetState) -> tuple[dict[str, float | None], float | None]:
    """(numbers per quality, organizations without a sendable number), as scraped."""
    registry = exported(state)
    by_quality = {
        q: registry.get_sample_value(
            "integration_organization_whatsapp_phone_numbers", {"quality": q}
        )
        for q in QUALITIES
    }
    return by_quality, registry.get_sample_value(
        "integration_organizations_without_sendable_number"
    )


def fleet(count: int) -> FleetState:
    state = FleetState(("whatsapp", "stripe"), Thresholds())
    state.set_organizations(f"org-{n}" for n in range(count))
    return state


def test_fleet_numbers__zero_before_any_result() -> None:
    """Every quality is exported at 0 from the start; nobody is counted without a number yet."""
    assert sums(fleet(3)) == (dict.fromkeys(QUALITIES, 0.0), 0.0)


def test_fleet_numbers__summed_over_organizations_whose_numbers_differ() -> None:
    """Numbers add up across organizations; those with none sending (or none) are counted."""
    state = fleet(4)
    state.record("org-0", "whatsapp", numbers(phone_number(0)))
    state.record(
        "org-1",
        "whatsapp",
        numbers(phone_number(0, quality="RED"), phone_number(1, quality="YELLOW")),
    )
    state.record("org-2", "whatsapp", numbers(phone_number(0, status="BANNED", quality="NA")))
    state.record("org-3", "whatsapp", numbers())

    assert sums(state) == ({"GREEN": 1, "YELLOW": 1, "RED": 1, "UNKNOWN": 1}, 2)


def test_fleet_numbers__latest_result_replaces_the_last() -> None:
    """An organization's new numbers replace its old ones; a failure that read none keeps them."""
    state = fleet(1)
    state.record("org-0", "whatsapp", numbers(phone_number(0, status="PENDING")))
    state.record("org-0", "whatsapp", numbers(phone_number(0), phone_number(1)))
    state.record("org-0", "whatsapp", failed(Reason.TIMEOUT))

    assert sums(state) == ({"GREEN": 2, "YELLOW": 0, "RED": 0, "UNKNOWN": 0}, 0)


def test_fleet_numbers__not_configured_and_removed_organizations_leave_the_sums() -> None:
    """An organization without a WABA any more, or gone from the source, no longer counts."""
    state = fleet(3)
    for organization in ("org-0", "org-1", "org-2"):
        state.record(organization, "whatsapp", numbers(phone_number(0, status="BANNED")))
    state.record("org-0", "whatsapp", CheckResult(Outcome.not_configured("no WABA"), T0, 0.0))
    state.set_organizations(["org-0", "org-2"])

    assert sums(state) == ({"GREEN": 1, "YELLOW": 0, "RED": 0, "UNKNOWN": 0}, 1)


def test_fleet_numbers__stripe_results_never_count() -> None:
    """Details of another integration are not phone numbers."""
    state = fleet(1)
    state.record("org-0", "stripe", numbers(phone_number(0)))

    assert sums(state) == (dict.fromkeys(QUALITIES, 0.0), 0.0)


def test_fleet_numbers__no_series_without_whatsapp_and_clean_for_promtool() -> None:
    """Only when WhatsApp is checked per organization; no id or number in any label."""
    state = fleet(2)
    state.record("org-0", "whatsapp", numbers(phone_number(0, quality="RED")))
    text = generate_latest(exported(state)).decode()
    stripe_only = FleetState(("stripe",), Thresholds())

    assert "org-0" not in text
    assert "555-010" not in text
    assert "phone_numbers" not in generate_latest(exported(stripe_only)).decode()
    done = check_metrics(text)
    assert (done.returncode, done.stdout.strip(), done.stderr.strip()) == (0, "", "")
