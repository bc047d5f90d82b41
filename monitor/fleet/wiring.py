"""Fleet mode, put together from the settings: clients, budgets, metrics, state, service."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

from monitor.budgets import Budgets, NoBudgetInTime, Priority, spacing_seconds
from monitor.checks.base import CheckFailed, Reason, Target
from monitor.clients import ProviderClients
from monitor.config import Settings
from monitor.fleet.directory import OrganizationDirectory
from monitor.fleet.metrics import FleetMetrics, FleetStateCollector
from monitor.fleet.service import FleetParts, FleetService
from monitor.fleet.shards import ShardAssignment
from monitor.fleet.sources import make_source
from monitor.fleet.state import FleetState
from monitor.fleet.stripe_list import StripeAccount
from monitor.fleet.targets import FleetTargets
from monitor.fleet.views import OrganizationView
from monitor.history import ChangeHistory
from monitor.redaction import Redactor
from monitor.runner import Admission, Runner
from monitor.sink.protocol import StatusSink
from monitor.snapshot import Snapshot
from monitor.store import Thresholds

BUDGETED = ("whatsapp", "stripe")


@dataclass(frozen=True)
class Providers:
    """What the platform and the fleet share: the pooled clients and the request budgets."""

    clients: ProviderClients
    budgets: Budgets

    def admission(self, max_wait_seconds: float) -> Admission:
        """For the platform's runner: its checks take budget before organizations' checks.

        A provider held back by a rate limit (an organization's Stripe 429) must not stall the
        platform's cycle: after `max_wait_seconds` the check is reported held back instead.
        """
        budgets = self.budgets

        async def admit(target: Target) -> None:
            if not target.budgeted or target.kind not in budgets:
                return
            deadline = time.monotonic() + max_wait_seconds
            try:
                for _ in range(target.requests):
                    left = max(0.0, deadline - time.monotonic())
                    await budgets[target.kind].acquire(Priority.HIGH, left)
            except NoBudgetInTime as exc:
                raise CheckFailed(
                    Reason.RATE_LIMITED,
                    f"no {target.kind} request budget within {max_wait_seconds:g} s"
                    " (the provider's rate limit holds every check back)",
                    retry_after=exc.retry_after,
                ) from None

        return admit


def build_providers(settings: Settings, registry: CollectorRegistry) -> Providers:
    """Pooled clients that count their requests, and the budgets they are exported with."""
    requests = Counter(
        "integration_provider_requests",
        "Requests sent to the provider (platform and organizations)",
        ["integration"],
        registry=registry,
    )
    budget_gauge = Gauge(
        "integration_provider_budget_requests_per_second",
        "The configured request budget per provider (any 1-second window)",
        ["integration"],
        registry=registry,
    )
    rps = {"whatsapp": settings.monitor_whatsapp_max_rps, "stripe": settings.monitor_stripe_max_rps}
    for integration in BUDGETED:
        requests.labels(integration)
        budget_gauge.labels(integration).set(rps[integration])
    clients = ProviderClients(
        settings.monitor_check_timeout_seconds,
        count_request=lambda integration: requests.labels(integration).inc(),
        spacing_seconds={name: spacing_seconds(value) for name, value in rps.items()},
    )
    return Providers(clients, Budgets(rps))


def build_fleet(
    settings: Settings,
    registry: CollectorRegistry,
    providers: Providers,
    platform_snapshot: Callable[[], Snapshot | None],
    history: ChangeHistory | None = None,
    sink: StatusSink | None = None,
) -> FleetService:
    """The fleet service over the configured organization source (its changes kept in
    `history` too, next to the platform's, and every result written to `sink`)."""
    targets = FleetTargets(settings, providers.clients)
    state = FleetState(
        targets.integrations,
        Thresholds(settings.monitor_failure_threshold, settings.monitor_success_threshold),
    )
    metrics = FleetMetrics(registry, targets.integrations, settings.monitor_check_timeout_seconds)
    _export_fleet_settings(registry, settings)
    limit = settings.monitor_organization_metrics_limit
    registry.register(
        FleetStateCollector(
            state, limit if settings.monitor_organization_metrics == "failing" else 0
        )
    )
    shared = [name for name in settings.monitor_integrations if name not in targets.integrations]
    runner = Runner(
        [],
        settings.monitor_check_timeout_seconds,
        Redactor(settings.secret_values()),
        retry_transient=settings.monitor_retry_transient,
    )
    parts = FleetParts(
        directory=OrganizationDirectory(
            make_source(settings), owns=ShardAssignment(settings.shard).owns
        ),
        targets=targets,
        runner=runner,
        state=state,
        view=OrganizationView(state, targets.integrations, shared, platform_snapshot),
        budgets=providers.budgets,
        metrics=metrics,
        history=history,
        sink=sink,
    )
    return FleetService(
        parts,
        interval_seconds=settings.monitor_organization_interval_seconds,
        timeout_seconds=settings.monitor_check_timeout_seconds,
        stripe_listing=_stripe_listing(settings, providers),
    )


def _stripe_listing(settings: Settings, providers: Providers) -> StripeAccount | None:
    key = settings.stripe_secret_key
    if settings.monitor_stripe_fleet_mode != "list" or key is None:
        return None
    return StripeAccount(key, settings.stripe_api_url, providers.clients.http("stripe"))


def _export_fleet_settings(registry: CollectorRegistry, settings: Settings) -> None:
    # Alert rules compare round times and source ages with these, whatever they are set to.
    Gauge(
        "integration_organization_interval_seconds",
        "MONITOR_ORGANIZATION_INTERVAL_SECONDS: how often each organization is checked",
        registry=registry,
    ).set(settings.monitor_organization_interval_seconds)
    Gauge(
        "integration_organization_source_reload_seconds",
        "MONITOR_ORGANIZATIONS_RELOAD_SECONDS: how often the organization source is reloaded",
        registry=registry,
    ).set(settings.monitor_organizations_reload_seconds)
