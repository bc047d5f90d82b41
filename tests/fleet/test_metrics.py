"""Fleet metrics: aggregates only by default, the same series at any fleet size, capped opt-in."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitor.checks.base import CheckFailed, CheckResult, Outcome, Reason
from monitor.fleet.metrics import FleetMetrics, FleetStateCollector
from monitor.fleet.state import FleetState
from monitor.store import Thresholds

T0 = datetime(2026, 1, 1, tzinfo=UTC)
INTEGRATIONS = ("whatsapp", "stripe")


def err(reason: Reason = Reason.AUTH) -> CheckResult:
    return CheckResult(Outcome.failed(CheckFailed(reason, "bad")), T0, 5.0)


def ok() -> CheckResult:
    return CheckResult(Outcome.connected("ok"), T0, 5.0)


def exported(
    organizations: int, failing: int, limit: int = 0
) -> tuple[CollectorRegistry, set[tuple[str, tuple[tuple[str, str], ...]]]]:
    """A registry for a fleet of `organizations`, `failing` of them in error, and its series."""
    state = FleetState(INTEGRATIONS, Thresholds())
    ids = [f"org-{n:05}" for n in range(organizations)]
    state.set_organizations(ids)
    for n, organization in enumerate(ids):
        state.record(organization, "whatsapp", err() if n < failing else ok())
    registry = CollectorRegistry()
    FleetMetrics(registry, INTEGRATIONS, timeout_seconds=10)
    registry.register(FleetStateCollector(state, limit, clock=lambda: T0.timestamp() + 30))
    text = generate_latest(registry).decode()
    series = {
        (sample.name, tuple(sorted(sample.labels.items())))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return registry, series


def test_fleet_metrics__series_count_does_not_grow_with_the_fleet() -> None:
    """200 or 10,000 organizations: the same series, and no organization label."""
    _, small = exported(200, failing=20)
    _, large = exported(10_000, failing=2_000)
    assert small == large
    assert not any("organization" in dict(labels) for _, labels in large)


def test_fleet_metrics__counts_by_status_reason_and_age() -> None:
    """Status counts, error reasons and the oldest result's age are what the table holds."""
    registry, _ = exported(10, failing=3)

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("integration_organizations", integration="whatsapp", status="error") == 3
    assert value("integration_organizations", integration="whatsapp", status="connected") == 7
    assert value("integration_organizations", integration="stripe", status="pending") == 10
    assert value("integration_organization_errors", integration="whatsapp", reason="auth") == 3
    assert value("integration_organization_errors", integration="whatsapp", reason="timeout") == 0
    age = value("integration_organization_oldest_result_age_seconds", integration="whatsapp")
    assert age == 30


def test_fleet_metrics__per_organization_errors_are_capped_oldest_first() -> None:
    """With the opt-in on, at most the limit of error series, the oldest kept, the rest counted."""
    registry, series = exported(100, failing=8, limit=5)
    per_org = sorted(
        dict(labels)["organization"]
        for name, labels in series
        if name == "integration_organization_error"
    )
    assert per_org == [f"org-{n:05}" for n in range(5)]
    assert registry.get_sample_value("integration_organization_error_series_dropped") == 3


def test_fleet_metrics__not_configured_is_not_a_check() -> None:
    """A not_configured result moves no check counter and no latency sample."""
    registry = CollectorRegistry()
    metrics = FleetMetrics(registry, INTEGRATIONS, timeout_seconds=10)
    metrics.observe("whatsapp", CheckResult(Outcome.not_configured("no WABA"), T0, 0.0))
    metrics.observe("whatsapp", err(Reason.TIMEOUT))
    labels = {"integration": "whatsapp"}
    assert registry.get_sample_value("integration_organization_checks_total", labels) == 1
    count = registry.get_sample_value(
        "integration_organization_check_duration_seconds_count", labels
    )
    assert count == 1
    failures = registry.get_sample_value(
        "integration_organization_check_failures_total", {**labels, "reason": "timeout"}
    )
    assert failures == 1
