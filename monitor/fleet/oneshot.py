"""`integration-monitor check --organization ID`: one organization's status, checked now.

Its own integrations are checked with its own settings; `email` and `database` are the
platform's, checked in the same go, as the daemon would show them.
"""

from __future__ import annotations

import asyncio

from monitor.checks.base import CheckResult, Outcome
from monitor.clients import ProviderClients
from monitor.config import Settings
from monitor.fleet.directory import OrganizationDirectory
from monitor.fleet.organizations import Organization
from monitor.fleet.sources import make_source
from monitor.fleet.state import FleetState
from monitor.fleet.targets import FleetTargets
from monitor.fleet.views import OrganizationView
from monitor.redaction import Redactor
from monitor.runner import Runner, utc_now
from monitor.store import SnapshotStore, Thresholds
from monitor.targets import build_targets


class UnknownOrganization(Exception):
    """The source has no organization with that id."""


async def check_organization(settings: Settings, organization_id: str) -> OrganizationView:
    """Load the organizations, check one, and return a view of it.

    Raises:
        SourceError: the organizations could not be loaded.
        UnknownOrganization: no organization has that id.
    """
    directory = OrganizationDirectory(make_source(settings))
    await directory.reload()
    organization = directory.get(organization_id)
    if organization is None:
        raise UnknownOrganization(organization_id)
    clients = ProviderClients(settings.monitor_check_timeout_seconds)
    try:
        return await _checked_view(settings, organization, clients)
    finally:
        await clients.aclose()


async def _checked_view(
    settings: Settings, organization: Organization, clients: ProviderClients
) -> OrganizationView:
    timeout = settings.monitor_check_timeout_seconds
    runner = Runner([], timeout, Redactor(settings.secret_values()))
    targets = FleetTargets(settings, clients)
    state = FleetState(targets.integrations, Thresholds())
    state.set_organizations([organization.id])
    platform = SnapshotStore()
    shared = [t for t in build_targets(settings) if t.name not in targets.integrations]
    own, platform_results = await asyncio.gather(
        _own_results(organization, targets, runner),
        Runner(shared, timeout, Redactor(settings.secret_values())).run_cycle(),
    )
    for integration, result in own.items():
        state.record(organization.id, integration, result)
    platform.apply(platform_results, utc_now(), 0.0)
    return OrganizationView(
        state, targets.integrations, [t.name for t in shared], lambda: platform.current
    )


async def _own_results(
    organization: Organization, targets: FleetTargets, runner: Runner
) -> dict[str, CheckResult]:
    results: dict[str, CheckResult] = {}
    for integration in targets.integrations:
        built = targets.target(organization, integration)
        if isinstance(built, Outcome):
            results[integration] = CheckResult(built, utc_now(), 0.0, 0)
            continue
        result = await runner.run_target(built.target)
        outcome = built.redactor.scrub_outcome(result.outcome)
        results[integration] = CheckResult(
            outcome, result.checked_at, result.duration_ms, result.attempts
        )
    return results
