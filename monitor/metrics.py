"""The Prometheus metrics of the contract, on a registry passed in (never the global one)."""

from __future__ import annotations

import platform
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from monitor import __version__
from monitor.checks.base import CheckResult, Outcome, Reason, Status
from monitor.checks.whatsapp_numbers import EMPTY_TALLY, QUALITIES, tally_of
from monitor.snapshot import Overall

_STANDARD_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def duration_buckets(timeout_seconds: float) -> tuple[float, ...]:
    """Buckets up to the check deadline, the deadline itself, and one past it.

    A check is cut at the deadline, so a bucket at exactly the timeout separates "slow" from
    "cut off", and one above it catches the runner's own overhead.
    """
    below = [b for b in _STANDARD_BUCKETS if b < timeout_seconds]
    return (*below, timeout_seconds, timeout_seconds * 1.5)


class MonitorMetrics:
    """Every metric the dashboards and alert rules read.

    Args:
        registry: where to register; tests pass a fresh one.
        integrations: names known up front, so every series exists from the first scrape.
        timeout_seconds: shapes the latency buckets.
        interval_seconds: exported, so rules can say "3 intervals" whatever it is.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        integrations: Iterable[str],
        timeout_seconds: float,
        interval_seconds: float = 60.0,
    ) -> None:
        self.registry = registry
        self.up = Gauge(
            "integration_up",
            "1 when the integration is healthy, else 0",
            ["integration"],
            registry=registry,
        )
        self.status = Gauge(
            "integration_status",
            "1 for the current reported status",
            ["integration", "status"],
            registry=registry,
        )
        self.check_duration = Histogram(
            "integration_check_duration_seconds",
            "Wall time of one check",
            ["integration"],
            buckets=duration_buckets(timeout_seconds),
            registry=registry,
        )
        self.checks = Counter(
            "integration_checks", "Checks run", ["integration"], registry=registry
        )
        self.failures = Counter(
            "integration_check_failures",
            "Failed checks by reason",
            ["integration", "reason"],
            registry=registry,
        )
        self.last_check = Gauge(
            "integration_last_check_timestamp_seconds",
            "Unix time of the last result",
            ["integration"],
            registry=registry,
        )
        self.last_success = Gauge(
            "integration_last_success_timestamp_seconds",
            "Unix time of the last connected result",
            ["integration"],
            registry=registry,
        )
        self.retries = Counter(
            "integration_check_retries",
            "Second tries after a transient failure (MONITOR_RETRY_TRANSIENT)",
            ["integration"],
            registry=registry,
        )
        self.state_changes = Counter(
            "integration_state_changes",
            "Reported-status transitions",
            ["integration"],
            registry=registry,
        )
        self.overall = Gauge(
            "integration_overall_status",
            "1 for the current overall status",
            ["status"],
            registry=registry,
        )
        self.cycle_duration = Histogram(
            "integration_monitor_cycle_duration_seconds",
            "Wall time of a whole check cycle",
            buckets=duration_buckets(timeout_seconds),
            registry=registry,
        )
        interval = Gauge(
            "integration_monitor_interval_seconds",
            "Configured time between check cycles (alert rules derive staleness from it)",
            registry=registry,
        )
        interval.set(interval_seconds)
        build = Gauge(
            "integration_monitor_build_info",
            "Always 1; labels say what runs",
            ["version", "python_version"],
            registry=registry,
        )
        build.labels(__version__, platform.python_version()).set(1)
        names = tuple(integrations)
        for name in names:
            self._precreate(name)
        self.phone_numbers = PhoneNumberGauges(registry) if "whatsapp" in names else None
        for overall in Overall:
            self.overall.labels(overall.value).set(0)

    def _precreate(self, integration: str) -> None:
        # Series that exist at 0 let rate() and absent() work before the first failure.
        self.up.labels(integration).set(0)
        self.last_check.labels(integration).set(0)  # staleness alerts fire if none ever ends
        for status in Status:
            self.status.labels(integration, status.value).set(0)
        self.checks.labels(integration)
        self.retries.labels(integration)
        self.state_changes.labels(integration)
        self.check_duration.labels(integration)
        for reason in Reason:
            self.failures.labels(integration, reason.value)

    def observe_result(
        self, integration: str, result: CheckResult, *, counted: bool = True
    ) -> None:
        """Mark the time of one raw result, and count it when it is a check that counts.

        Args:
            integration: whose result it is.
            result: the raw result.
            counted: False for a refresh's cycle: it moves the timestamps, not the counters
                that error ratios and latencies are computed from.
        """
        timestamp = result.checked_at.timestamp()
        self.last_check.labels(integration).set(timestamp)
        if integration == "whatsapp" and self.phone_numbers is not None:
            self.phone_numbers.observe(result.outcome)
        if result.healthy:
            self.last_success.labels(integration).set(timestamp)
        if counted and _is_a_check(result):
            self.checks.labels(integration).inc()
            self.retries.labels(integration).inc(result.attempts - 1)
            self.check_duration.labels(integration).observe(result.duration_ms / 1000)
            if result.reason is not None:
                self.failures.labels(integration, result.reason.value).inc()

    def set_reported(self, integration: str, status: Status) -> None:
        """Set the gauges that follow the reported (hysteresis-filtered) status."""
        self.up.labels(integration).set(1 if status is Status.CONNECTED else 0)
        for each in Status:
            self.status.labels(integration, each.value).set(1 if each is status else 0)

    def set_overall(self, overall: Overall) -> None:
        """Set the overall state set."""
        for each in Overall:
            self.overall.labels(each.value).set(1 if each is overall else 0)


class PhoneNumberGauges:
    """The platform account's phone numbers per quality, and how many can send (contract §11).

    Set from the last result that read the numbers, whatever its status (a BLOCKED account still
    lists them). A result that did not read them (a timeout, an expired token) leaves the gauges
    as they were: Meta not answering says nothing about the numbers, and an alert on a RED
    number or on no sendable number should not resolve during an outage (integration_up shows
    the outage). Before the first such result, and when WhatsApp is not configured, they are 0.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.by_quality = Gauge(
            "integration_whatsapp_phone_numbers",
            "Phone numbers of the WhatsApp Business Account by quality rating"
            " (NA counts as UNKNOWN)",
            ["quality"],
            registry=registry,
        )
        self.sendable = Gauge(
            "integration_whatsapp_phone_numbers_sendable",
            "Phone numbers of the WhatsApp Business Account that can send (CONNECTED or FLAGGED)",
            registry=registry,
        )
        for quality in QUALITIES:
            self.by_quality.labels(quality).set(0)

    def observe(self, outcome: Outcome) -> None:
        """Follow one result of the platform's WhatsApp check."""
        tally = (
            EMPTY_TALLY if outcome.status is Status.NOT_CONFIGURED else tally_of(outcome.details)
        )
        if tally is None:
            return
        for quality, count in tally.by_quality.items():
            self.by_quality.labels(quality).set(count)
        self.sendable.set(tally.sendable)


def _is_a_check(result: CheckResult) -> bool:
    # Held back by a rate limit, nothing was asked; not configured, there is nothing to ask.
    return result.attempts > 0 and result.status is not Status.NOT_CONFIGURED
