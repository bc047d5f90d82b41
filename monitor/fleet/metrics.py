"""Fleet metrics (contract §8.5): aggregates whose series count does not grow with the fleet.

Gauges derived from the state table are read at scrape time from its running counts, so a
scrape costs the same at 200 organizations as at 10,000. Per-organization error series exist
only when asked for, and are capped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from monitor.checks.base import CheckResult, Reason, Status
from monitor.fleet.state import ORGANIZATION_STATUSES, FleetState
from monitor.metrics import duration_buckets


class FleetMetrics:
    """Counters, histograms and gauges the fleet loop updates as it goes.

    Args:
        registry: where to register.
        integrations: the integrations checked per organization.
        timeout_seconds: shapes the latency buckets.
    """

    def __init__(
        self, registry: CollectorRegistry, integrations: Sequence[str], timeout_seconds: float
    ) -> None:
        label = ["integration"]
        self.checks = Counter(
            "integration_organization_checks", "Organization checks run", label, registry=registry
        )
        self.failures = Counter(
            "integration_organization_check_failures",
            "Failed organization checks by reason",
            [*label, "reason"],
            registry=registry,
        )
        self.duration = Histogram(
            "integration_organization_check_duration_seconds",
            "Wall time of one organization check",
            label,
            buckets=duration_buckets(timeout_seconds),
            registry=registry,
        )
        self.state_changes = Counter(
            "integration_organization_state_changes",
            "Reported-status changes of organizations",
            label,
            registry=registry,
        )
        self.round_seconds = Gauge(
            "integration_organization_round_seconds",
            "How long the last complete round (every organization once) took",
            label,
            registry=registry,
        )
        self._register_source_gauges(registry)
        for integration in integrations:
            self._precreate(integration)

    def _register_source_gauges(self, registry: CollectorRegistry) -> None:
        self.source_up = Gauge(
            "integration_organization_source_up",
            "1 when the last load or reload of the organizations succeeded",
            registry=registry,
        )
        self.source_last_success = Gauge(
            "integration_organization_source_last_success_timestamp_seconds",
            "Unix time of the last successful load of the organizations",
            registry=registry,
        )
        self.source_invalid_rows = Gauge(
            "integration_organization_source_invalid_rows",
            "Rows skipped at the last load of the organizations",
            registry=registry,
        )

    def _precreate(self, integration: str) -> None:
        self.checks.labels(integration)
        self.state_changes.labels(integration)
        self.duration.labels(integration)
        self.round_seconds.labels(integration)
        for reason in Reason:
            self.failures.labels(integration, reason.value)

    def observe(self, integration: str, result: CheckResult) -> None:
        """Count one organization check; a not_configured result is not a check."""
        if result.status is Status.NOT_CONFIGURED or result.attempts == 0:
            return
        self.checks.labels(integration).inc()
        self.duration.labels(integration).observe(result.duration_ms / 1000)
        if result.reason is not None:
            self.failures.labels(integration, result.reason.value).inc()


class FleetStateCollector(Collector):
    """Gauges read from the state table at scrape time.

    Args:
        state: the table.
        error_series_limit: per-organization error series to export at most; 0 for none.
        clock: unix time now, for ages.
    """

    def __init__(
        self,
        state: FleetState,
        error_series_limit: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._state = state
        self._limit = error_series_limit
        self._clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The aggregate gauges, then (when enabled) the capped per-organization series."""
        yield self._organizations()
        yield self._errors()
        yield self._oldest_age()
        if "whatsapp" in self._state.integrations:
            yield from self._phone_numbers()
        if self._limit > 0:
            yield from self._per_organization_errors()

    def _organizations(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "integration_organizations",
            "Organizations per reported status",
            labels=["integration", "status"],
        )
        for integration in self._state.integrations:
            counts = self._state.status_counts(integration)
            for status in ORGANIZATION_STATUSES:
                family.add_metric([integration, status], counts[status])
        return family

    def _errors(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "integration_organization_errors",
            "Organizations currently reported in error, by reason",
            labels=["integration", "reason"],
        )
        for integration in self._state.integrations:
            for reason, count in self._state.error_counts(integration).items():
                family.add_metric([integration, reason.value], count)
        return family

    def _oldest_age(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "integration_organization_oldest_result_age_seconds",
            "Age of the oldest organization result (a stalled fleet loop shows here first)",
            labels=["integration"],
        )
        now = self._clock()
        for integration in self._state.integrations:
            oldest = self._state.oldest_result_at(integration)
            age = max(0.0, now - oldest.timestamp()) if oldest is not None else 0.0
            family.add_metric([integration], age)
        return family

    def _phone_numbers(self) -> Iterable[GaugeMetricFamily]:
        totals = self._state.phone_numbers
        numbers = GaugeMetricFamily(
            "integration_organization_whatsapp_phone_numbers",
            "Phone numbers of the organizations' WhatsApp Business Accounts by quality rating,"
            " summed over their latest results (NA counts as UNKNOWN)",
            labels=["quality"],
        )
        for quality, count in totals.by_quality().items():
            numbers.add_metric([quality], count)
        without = GaugeMetricFamily(
            "integration_organizations_without_sendable_number",
            "Organizations whose WhatsApp Business Account has no phone number that can send",
        )
        without.add_metric([], totals.organizations_without_sendable())
        return (numbers, without)

    def _per_organization_errors(self) -> Iterable[GaugeMetricFamily]:
        series = GaugeMetricFamily(
            "integration_organization_error",
            "1 for each organization reported in error (capped; oldest errors kept)",
            labels=["organization", "integration", "reason"],
        )
        for n, (organization, integration, reason) in enumerate(self._state.errors_oldest_first()):
            if n >= self._limit:
                break
            series.add_metric([organization, integration, reason.value], 1)
        dropped = GaugeMetricFamily(
            "integration_organization_error_series_dropped",
            "Organizations in error left out of integration_organization_error by the cap",
        )
        dropped.add_metric([], max(0, self._state.error_entries() - self._limit))
        return (series, dropped)
