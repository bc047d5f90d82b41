"""Provider rate limits in their scope: Graph per app, token or account; Stripe per account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.budgets import Budgets
from monitor.checks.base import CheckFailed, CheckResult, Outcome, Reason, rfc3339
from monitor.fleet.holds import ProviderHolds, token_key
from monitor.fleet.organizations import Organization
from tests.support.clocks import FakeMonotonic

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ACME = Organization("acme", whatsapp_business_account_id="111")
GLOBEX = Organization("globex", whatsapp_business_account_id="222")
SHARED_TOKEN = token_key("EAAGsharedAgencyToken")
OTHER_TOKEN = token_key("EAAGotherToken")


def limited(code: int | None, wait_seconds: float | None = 60) -> CheckResult:
    details: dict[str, object] = {} if code is None else {"code": code}
    if wait_seconds is not None:
        details["next_attempt_at"] = rfc3339(NOW + timedelta(seconds=wait_seconds))
    failure = CheckFailed(Reason.RATE_LIMITED, "slow down", details)
    return CheckResult(Outcome.failed(failure), NOW, 5.0)


def holds_at_now() -> tuple[ProviderHolds, Budgets, FakeMonotonic]:
    budgets = Budgets({"whatsapp": 10, "stripe": 5})
    clock = FakeMonotonic()
    holds = ProviderHolds(budgets, 300, clock, wall_clock=NOW.timestamp)
    return holds, budgets, clock


async def test_holds__token_limit_holds_every_account_using_that_token() -> None:
    """Code 17 (per token): both organizations sharing the token wait; another token does not."""
    holds, _, clock = holds_at_now()
    holds.apply(ACME, SHARED_TOKEN, "whatsapp", limited(17))
    assert holds.is_held(GLOBEX, SHARED_TOKEN, "whatsapp")
    assert not holds.is_held(GLOBEX, OTHER_TOKEN, "whatsapp")
    clock.now += 61
    assert not holds.is_held(GLOBEX, SHARED_TOKEN, "whatsapp")


async def test_holds__account_limit_holds_only_that_account() -> None:
    """Code 80007 names one WhatsApp Business Account: only its checks wait."""
    holds, _, _ = holds_at_now()
    holds.apply(ACME, SHARED_TOKEN, "whatsapp", limited(80007))
    assert holds.is_held(ACME, OTHER_TOKEN, "whatsapp")
    assert not holds.is_held(GLOBEX, SHARED_TOKEN, "whatsapp")


async def test_holds__application_limit_holds_the_whole_graph_budget() -> None:
    """Code 4 is application-wide: the WhatsApp budget itself is held for the wait."""
    holds, budgets, _ = holds_at_now()
    holds.apply(ACME, SHARED_TOKEN, "whatsapp", limited(4, wait_seconds=120))
    assert 119 < budgets["whatsapp"].held_for() <= 120
    assert budgets["stripe"].held_for() == 0


async def test_holds__stripe_429_without_retry_after_backs_off_doubling() -> None:
    """Without Retry-After, Stripe holds 1 s, then 2 s, then 4 s; a success starts over."""
    holds, budgets, _ = holds_at_now()
    held = []
    for _ in range(3):
        holds.apply(GLOBEX, None, "stripe", limited(None, wait_seconds=None))
        held.append(round(budgets["stripe"].held_for()))
    assert held == [1, 2, 4]
    holds.apply(GLOBEX, None, "stripe", CheckResult(Outcome.connected("ok"), NOW, 5.0))
    holds.apply(GLOBEX, None, "stripe", limited(None, wait_seconds=None))
    # Started over at 1 s: the 4 s hold already running is not stretched to 8 s.
    assert round(budgets["stripe"].held_for()) == 4
