"""Fleet mode: every organization's own integrations, checked on their schedule within budgets.

The data walks one way: the directory yields organizations, each (organization, integration)
gets a target, the dispatcher decides when it goes, the runner checks it under its deadline,
the state table records it; readers (API, metrics, logs) only read. The one call back in is
`refresh`, for one organization, now.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from monitor.budgets import Budgets, NoBudgetInTime, Priority
from monitor.checks.base import CheckResult, Outcome, Status
from monitor.fleet.api import NoBudget
from monitor.fleet.directory import DirectoryChange, OrganizationDirectory
from monitor.fleet.dispatch import Dispatcher, Round
from monitor.fleet.holds import ProviderHolds
from monitor.fleet.metrics import FleetMetrics
from monitor.fleet.organizations import Organization
from monitor.fleet.schedule import Schedule, phase_of
from monitor.fleet.sources import SourceError
from monitor.fleet.state import FleetState, OrganizationTransition
from monitor.fleet.stripe_list import StripeAccount, StripeListRounds
from monitor.fleet.targets import FleetTargets, OrganizationTarget
from monitor.fleet.views import OrganizationView
from monitor.history import ChangeHistory
from monitor.logs import log_state_change
from monitor.runner import Runner, utc_now
from monitor.service import ShuttingDown
from monitor.sink.protocol import StatusSink

log = structlog.get_logger("monitor.fleet")

# A refresh this soon after an organization's last check returns that check.
REFRESH_MIN_AGE_SECONDS = 5.0


@dataclass(frozen=True)
class FleetParts:
    """What the fleet is made of.

    Args:
        directory: where organizations come from.
        targets: builds each organization's checks.
        runner: one attempt under a deadline (the platform's runner).
        state: what is reported per organization.
        view: answers in the dashboard's shape.
        budgets: per-provider request budgets, shared with the platform.
        metrics: the fleet metrics.
        history: where logged state changes are also kept, for the status page.
        sink: where every result and logged state change is also written (§8.7), if anywhere.
    """

    directory: OrganizationDirectory
    targets: FleetTargets
    runner: Runner
    state: FleetState
    view: OrganizationView
    budgets: Budgets
    metrics: FleetMetrics
    history: ChangeHistory | None = None
    sink: StatusSink | None = None


class FleetService:
    """Checks every organization's WhatsApp and Stripe on a spread schedule.

    Args:
        parts: the collaborators.
        interval_seconds: MONITOR_ORGANIZATION_INTERVAL_SECONDS.
        timeout_seconds: the check deadline (and a refresh's longest wait for budget).
        stripe_listing: in Stripe list mode, the account to list the customers of.
        wall_clock, monotonic: clocks (fakes in tests).
    """

    def __init__(
        self,
        parts: FleetParts,
        *,
        interval_seconds: float,
        timeout_seconds: float,
        stripe_listing: StripeAccount | None = None,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = parts.directory
        self._history = parts.history
        self.sink = parts.sink
        self.state = parts.state
        self.view = parts.view
        self.integrations: Sequence[str] = parts.targets.integrations
        self._targets = parts.targets
        self._runner = parts.runner
        self._budgets = budgets = parts.budgets
        self._metrics = metrics = parts.metrics
        self._interval = interval_seconds
        self._timeout = timeout_seconds
        self._wall_clock = wall_clock
        self._monotonic = monotonic
        self._holds = ProviderHolds(budgets, interval_seconds, monotonic, wall_clock)
        listed = {"stripe"} if stripe_listing is not None else set()
        self._dispatchers = {
            name: Dispatcher(
                Schedule(interval_seconds),
                budgets[name],
                parts.targets.requests_per_check(name),
                self._starter(name),
                wall_clock,
            )
            for name in self.integrations
            if name not in listed
        }
        self._rounds = {
            name: Round(name, metrics.round_seconds.labels(name).set, monotonic)
            for name in self.integrations
        }
        self._inflight: dict[tuple[str, str], asyncio.Task[CheckResult]] = {}
        self._last_checked: dict[str, float] = {}  # organization -> monotonic time
        self._loaded_once = False
        self._stopping = False
        self._built: dict[tuple[str, str], tuple[Organization, OrganizationTarget | Outcome]] = {}
        self._listing = (
            StripeListRounds(
                self,
                stripe_listing,
                budgets["stripe"],
                timeout_seconds,
                interval_seconds,
                metrics.round_seconds.labels("stripe").set,
            )
            if stripe_listing is not None and "stripe" in self.integrations
            else None
        )

    # --- what runs in the background (see FleetLifecycle) -----------------------------------

    @property
    def loaded(self) -> bool:
        """Whether a load has succeeded since start."""
        return self._loaded_once

    def background(self) -> list[Coroutine[Any, Any, None]]:
        """The loops to run for ever: one dispatcher per scheduled integration, the listing."""
        loops = [dispatcher.run() for dispatcher in self._dispatchers.values()]
        if self._listing is not None:
            loops.append(self._listing.run())
        return loops

    def stop_checks(self) -> list[asyncio.Task[CheckResult]]:
        """From now on a refresh gets ShuttingDown; the checks in flight, to cancel."""
        self._stopping = True
        return list(self._inflight.values())

    async def load(self) -> DirectoryChange:
        """Load or reload the organizations and apply the change.

        Raises:
            SourceError: the source failed; the last good list stays.
        """
        loaded_at = self._wall_clock()
        try:
            change = await self.directory.reload()
        except SourceError:
            self._metrics.source_up.set(0)
            raise
        self._apply(change)
        if self.sink is not None:
            self.sink.keep_only(change.source_ids, loaded_at, frozenset(self.integrations))
            self._rewrite_unchecked(self.sink)
        return change

    def _rewrite_unchecked(self, sink: StatusSink) -> None:
        # A not_configured entry is never checked again: written anew after each load, its row
        # stays fresh and comes back should a shard on an older list have deleted it.
        for (organization_id, integration), (_, built) in self._built.items():
            if isinstance(built, Outcome):
                reported = self.state.reported(organization_id, integration)
                if reported is not None:
                    sink.record_status(organization_id, integration, reported)

    # --- applying a load -------------------------------------------------------------------

    def _apply(self, change: DirectoryChange) -> None:
        first = not self._loaded_once
        self._loaded_once = True
        self._metrics.source_up.set(1)
        self._metrics.source_last_success.set(self.directory.last_success or 0)
        self._metrics.source_invalid_rows.set(self.directory.invalid_rows)
        removed = set(change.removed)
        self.state.set_organizations(o.id for o in self.directory)
        for name in self.integrations:
            dispatcher = self._dispatchers.get(name)
            if dispatcher is not None:
                dispatcher.schedule.remove([*change.removed, *change.changed])
            self._rounds[name].forget(removed)
            for organization_id in removed:
                self._built.pop((organization_id, name), None)
            for organization_id in (*change.added, *change.changed):
                organization = self.directory.get(organization_id)
                if organization is not None:
                    self._schedule(organization, name, at_once=not first)
            if dispatcher is not None:
                dispatcher.wake()
                self._begin_round_if_idle(name, first)

    def _target_of(
        self, organization: Organization, integration: str
    ) -> OrganizationTarget | Outcome:
        # Built once per loaded organization, not per check: a reload hands out new objects.
        key = (organization.id, integration)
        cached = self._built.get(key)
        if cached is not None and cached[0] is organization:
            return cached[1]
        built = self._targets.target(organization, integration)
        self._built[key] = (organization, built)
        return built

    def _schedule(self, organization: Organization, integration: str, *, at_once: bool) -> None:
        built = self._target_of(organization, integration)
        if isinstance(built, Outcome):  # nothing to ask a provider: not_configured at once
            self._record(organization, integration, CheckResult(built, utc_now(), 0.0, 0))
            return
        dispatcher = self._dispatchers.get(integration)
        if dispatcher is None:  # listed, not scheduled
            return
        phase = phase_of(organization.id, integration, self._interval)
        dispatcher.schedule.add(organization.id, phase, self._wall_clock(), at_once=at_once)

    def _begin_round_if_idle(self, integration: str, first: bool) -> None:
        schedule = self._dispatchers[integration].schedule
        if first:
            self._rounds[integration].begin(
                lambda: {o.id for o in self.directory if o.id in schedule}
            )
        self._rounds[integration].warn_if_stretched(
            len(schedule),
            self._targets.requests_per_check(integration),
            self._budgets[integration],
            self._interval,
        )

    # --- checking --------------------------------------------------------------------------

    def _starter(self, integration: str) -> Callable[[str], None]:
        def start(organization_id: str) -> None:
            self._start(organization_id, integration)

        return start

    def _start(self, organization_id: str, integration: str) -> None:
        organization = self.directory.get(organization_id)
        if organization is None or (organization_id, integration) in self._inflight:
            return
        built = self._target_of(organization, integration)
        if isinstance(built, Outcome):
            return
        if self._holds.is_held(organization, built.token_key, integration):
            self._rounds[integration].checked(organization_id)
            return
        self._launch(organization, built, scheduled=True)

    def _launch(
        self, organization: Organization, target: OrganizationTarget, *, scheduled: bool
    ) -> asyncio.Task[CheckResult]:
        task = asyncio.create_task(
            self._check(organization, target, scheduled), name=f"fleet-check:{target.target.name}"
        )
        self._inflight[target.key] = task
        task.add_done_callback(lambda _: self._inflight.pop(target.key, None))
        return task

    async def _check(
        self, organization: Organization, target: OrganizationTarget, scheduled: bool
    ) -> CheckResult:
        result = await self._runner.run_target(target.target)
        outcome = target.redactor.scrub_outcome(result.outcome)
        result = CheckResult(outcome, result.checked_at, result.duration_ms, result.attempts)
        self._holds.apply(organization, target.token_key, target.integration, result)
        if scheduled:
            self._metrics.observe(target.integration, result)
            if target.integration in self._dispatchers:
                self._rounds[target.integration].checked(organization.id)
        self._last_checked[organization.id] = self._monotonic()
        self._record(organization, target.integration, result)
        return result

    def _record(self, organization: Organization, integration: str, result: CheckResult) -> None:
        transition = self.state.record(organization.id, integration, result)
        if self.sink is not None:
            reported = self.state.reported(organization.id, integration)
            if reported is not None:  # None: the organization was removed while it was checked
                self.sink.record_status(organization.id, integration, reported)
        if transition is None:
            return
        if not transition.is_first:
            self._metrics.state_changes.labels(integration).inc()
        if not transition.is_first or transition.current is Status.ERROR:
            log_organization_transition(transition)
            if self._history is not None:
                self._history.record(
                    integration,
                    transition.previous,
                    transition.current,
                    result,
                    organization=organization.id,
                )
            if self.sink is not None:
                self.sink.record_change(transition)

    # --- Stripe list mode ------------------------------------------------------------------

    def stripe_targets(self) -> list[tuple[Organization, OrganizationTarget]]:
        """Every organization with a Stripe customer to check, and its target."""
        pairs = []
        for organization in self.directory:
            built = self._target_of(organization, "stripe")
            if not isinstance(built, Outcome):
                pairs.append((organization, built))
        return pairs

    def record_listed(
        self, organization: Organization, target: OrganizationTarget, result: CheckResult
    ) -> None:
        """A result the customer listing produced, counted as a scheduled check."""
        self._metrics.observe(target.integration, result)
        self._last_checked[organization.id] = self._monotonic()
        self._record(organization, target.integration, result)

    def launch_scheduled(self, organization: Organization, target: OrganizationTarget) -> None:
        """A one-by-one check of a customer the listing did not hold."""
        if target.key not in self._inflight:
            self._launch(organization, target, scheduled=True)

    # --- refresh ---------------------------------------------------------------------------

    async def refresh(self, organization_id: str) -> None:
        """Check one organization now (within budgets), unless it was checked a moment ago.

        Raises:
            NoBudget: a provider had no budget within the check deadline.
            ShuttingDown: the daemon stopped before the checks ended.
        """
        organization = self.directory.get(organization_id)
        if organization is None:
            return
        if self._stopping:
            raise ShuttingDown
        last = self._last_checked.get(organization_id)
        if last is not None and self._monotonic() - last < REFRESH_MIN_AGE_SECONDS:
            return
        checks = []
        for integration in self.integrations:
            built = self._target_of(organization, integration)
            if isinstance(built, Outcome):
                continue
            checks.append(await self._refresh_one(organization, built))
        # Shielded: a caller that goes away must not cancel checks others may share.
        await asyncio.shield(asyncio.gather(*checks, return_exceptions=True))
        if self._stopping:
            raise ShuttingDown

    async def _refresh_one(
        self, organization: Organization, target: OrganizationTarget
    ) -> asyncio.Task[CheckResult]:
        running = self._inflight.get(target.key)
        if running is not None:
            return running
        deadline = self._monotonic() + self._timeout
        try:
            for _ in range(target.target.requests):
                left = max(0.0, deadline - self._monotonic())
                await self._budgets[target.integration].acquire(Priority.HIGH, left)
        except NoBudgetInTime as exc:
            raise NoBudget(exc.retry_after) from None
        return self._launch(organization, target, scheduled=False)


def log_organization_transition(transition: OrganizationTransition) -> None:
    """`integration.state_changed` with the organization; warning when it goes into error."""
    log_state_change(
        log,
        transition.integration,
        transition.previous,
        transition.current,
        transition.result,
        organization=transition.organization,
    )
