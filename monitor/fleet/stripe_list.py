"""Stripe list mode (`MONITOR_STRIPE_FLEET_MODE=list`): one listing of every customer per round.

The official SDK pages through the customers, 100 per request (its auto-pagination). Each page
request takes Stripe budget first and then has the check deadline to itself. Customers missing
from the listing are then retrieved one by one by the caller, which tells a deleted customer
from one that never existed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import stripe
import structlog
from pydantic import SecretStr

from monitor.budgets import Budget, Priority
from monitor.checks.base import CheckFailed, CheckResult, Outcome, Reason
from monitor.checks.stripe import PROVIDER, MonitorHttpClient, customer_outcome, stripe_failure
from monitor.fleet.organizations import Organization
from monitor.fleet.targets import OrganizationTarget
from monitor.runner import utc_now

log = structlog.get_logger("monitor.fleet")

PAGE_SIZE = 100


class BudgetedHttpClient(MonitorHttpClient):
    """Takes budget before each request, then gives the request the deadline to itself.

    Args:
        client: the pooled Stripe connection.
        admit: waits for one request's budget.
        deadline_seconds: the check deadline, per request.
    """

    name = "integration-monitor-httpx-budgeted"

    def __init__(
        self,
        client: httpx.AsyncClient,
        admit: Callable[[], Awaitable[object]],
        deadline_seconds: float,
    ) -> None:
        super().__init__(client)
        self._admit = admit
        self._deadline = deadline_seconds
        self.last_request_ms = 0.0
        self.requests = 0

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        """One page request: budget first, then the deadline."""
        await self._admit()
        started = time.perf_counter()
        self.requests += 1
        try:
            async with asyncio.timeout(self._deadline):
                return await super().request_async(method, url, headers, post_data)
        except TimeoutError:
            raise CheckFailed(
                Reason.TIMEOUT,
                f"{PROVIDER} did not answer a page of the customer listing within"
                f" {self._deadline:g} s",
            ) from None
        finally:
            self.last_request_ms = round((time.perf_counter() - started) * 1000, 1)


@dataclass(frozen=True)
class ListedCustomer:
    """A customer found in the listing, and how long the page that brought it took."""

    customer: Any
    page_ms: float


async def list_customers(
    key: SecretStr,
    api_url: str,
    http: BudgetedHttpClient,
    wanted: Collection[str],
) -> dict[str, ListedCustomer]:
    """Every wanted customer the listing holds, by id.

    Raises:
        CheckFailed: a page failed (the whole listing is then unknown).
    """
    client = stripe.StripeClient(
        key.get_secret_value(),
        base_addresses={"api": api_url.rstrip("/")},
        max_network_retries=0,
        http_client=http,
    )
    found: dict[str, ListedCustomer] = {}
    try:
        first = await client.v1.customers.list_async(params={"limit": PAGE_SIZE})
        async for customer in first.auto_paging_iter():
            customer_id = getattr(customer, "id", None)
            if isinstance(customer_id, str) and customer_id in wanted:
                found[customer_id] = ListedCustomer(customer, http.last_request_ms)
    except stripe.StripeError as exc:
        raise stripe_failure(exc) from None
    return found


@dataclass(frozen=True)
class StripeAccount:
    """The platform's Stripe key, its API, and the pooled connection to it."""

    key: SecretStr = field(repr=False)
    api_url: str
    http: httpx.AsyncClient = field(repr=False)


class ListRoundHooks(Protocol):
    """What a listing round needs from the fleet."""

    def stripe_targets(self) -> list[tuple[Organization, OrganizationTarget]]:
        """Every organization with a Stripe customer to check, and its target."""
        ...

    def record_listed(
        self, organization: Organization, target: OrganizationTarget, result: CheckResult
    ) -> None:
        """Record a result the listing produced."""
        ...

    def launch_scheduled(self, organization: Organization, target: OrganizationTarget) -> None:
        """Start the one-by-one check of a customer the listing did not hold."""
        ...


class StripeListRounds:
    """Once per interval: list every customer, then retrieve those the listing did not hold.

    Args:
        hooks: the fleet.
        account: the platform's Stripe key and API, and the pooled connection.
        budget: Stripe's request budget.
        deadline_seconds: per page request.
        interval_seconds: MONITOR_ORGANIZATION_INTERVAL_SECONDS.
        record_round: called with each round's duration.
    """

    def __init__(
        self,
        hooks: ListRoundHooks,
        account: StripeAccount,
        budget: Budget,
        deadline_seconds: float,
        interval_seconds: float,
        record_round: Callable[[float], None],
    ) -> None:
        self._hooks = hooks
        self._account = account
        self._budget = budget
        self._deadline = deadline_seconds
        self._interval = interval_seconds
        self._record_round = record_round

    async def run(self) -> None:
        """A round every interval (or right after the last one, when it took longer)."""
        while True:
            started = time.monotonic()
            await self.round()
            elapsed = time.monotonic() - started
            self._record_round(elapsed)
            await asyncio.sleep(max(0.0, self._interval - elapsed))

    async def round(self) -> None:
        """One listing, then one retrieval per customer it did not hold."""
        targets = self._hooks.stripe_targets()
        wanted = {org.stripe_customer_id for org, _ in targets if org.stripe_customer_id}
        account = self._account
        http = BudgetedHttpClient(
            account.http, lambda: self._budget.acquire(Priority.LOW), self._deadline
        )
        try:
            found = await list_customers(account.key, account.api_url, http, wanted)
        except CheckFailed as failure:
            self._listing_failed(targets, failure)
            return
        for organization, target in targets:
            listed = found.get(organization.stripe_customer_id or "")
            if listed is None:
                await self._budget.acquire(Priority.LOW)
                self._hooks.launch_scheduled(organization, target)
            else:
                self._hooks.record_listed(
                    organization, target, _listed_result(organization, listed)
                )

    def _listing_failed(
        self, targets: list[tuple[Organization, OrganizationTarget]], failure: CheckFailed
    ) -> None:
        log.warning(
            "fleet.stripe_listing_failed", reason=failure.reason.value, message=failure.message
        )
        if failure.retry_after:
            self._budget.hold(failure.retry_after)
        result = CheckResult(Outcome.failed(failure), utc_now(), 0.0)
        for organization, target in targets:
            self._hooks.record_listed(organization, target, result)


def _listed_result(organization: Organization, listed: ListedCustomer) -> CheckResult:
    customer_id = organization.stripe_customer_id or ""
    try:
        outcome = customer_outcome(customer_id, listed.customer)
    except CheckFailed as failure:
        outcome = Outcome.failed(failure)
    return CheckResult(outcome, utc_now(), listed.page_ms)
