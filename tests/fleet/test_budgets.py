"""Request budgets on the real event-loop clock: strict 1-second windows, priorities, holds."""

from __future__ import annotations

import asyncio
import math

import pytest
from aiolimiter import AsyncLimiter

from monitor.budgets import (
    JITTER_GUARD,
    Budget,
    Budgets,
    NoBudgetInTime,
    Priority,
    spacing_seconds,
)
from tests.fleet.windows import most_in_any_window
from tests.support.waiting import wait_until


async def grant_times(
    budget: Budget, callers: int, priority: Priority = Priority.LOW
) -> list[float]:
    """Start `callers` acquisitions at once; the loop time each caller saw its grant."""
    loop = asyncio.get_running_loop()

    async def one(caller: int) -> float:
        # Mixed priorities must not change the spacing either.
        await budget.acquire(priority if caller % 3 else Priority.HIGH)
        return loop.time()

    return list(await asyncio.gather(*(one(caller) for caller in range(callers))))


# --- the window ---------------------------------------------------------------------------


def test_most_in_any_window__counts_half_open_windows() -> None:
    """The window measure counts what a provider's 1-second limiter would see."""
    assert most_in_any_window([0.0, 0.5, 0.999, 1.0, 1.6]) == 3
    assert most_in_any_window([0.0, 1.0, 2.0]) == 1
    assert most_in_any_window([]) == 0


async def test_most_in_any_window__catches_a_plain_limiters_burst() -> None:
    """The measure is not vacuous: aiolimiter's AsyncLimiter(10, 1) puts nearly 20 in a window."""
    plain, loop, times = AsyncLimiter(10, 1), asyncio.get_running_loop(), []

    async def one() -> None:
        await plain.acquire()
        times.append(loop.time())

    await asyncio.gather(*(one() for _ in range(20)))

    assert most_in_any_window(times) >= 15


@pytest.mark.parametrize(
    ("requests_per_second", "spacing"), [(10, 0.1), (40, 0.025), (2.5, 0.5), (1, 1.0), (0.5, 2.0)]
)
def test_spacing_seconds__rounds_fractional_budgets_down(
    requests_per_second: float, spacing: float
) -> None:
    """2.5/s never allows 3 in a second; below 1/s, requests are 1/rps apart (plus the guard)."""
    assert spacing_seconds(requests_per_second) == pytest.approx(spacing * (1 + JITTER_GUARD))


@pytest.mark.parametrize("requests_per_second", [0, -1, math.nan, math.inf])
def test_budget__refuses_a_budget_that_is_not_a_positive_number(requests_per_second: float) -> None:
    """A zero, negative, NaN or infinite budget is refused when the budget is built."""
    with pytest.raises(ValueError, match="positive number"):
        Budget("stripe", requests_per_second)


async def test_budget__no_window_over_budget() -> None:
    """Flooded at several budgets at once, no 1-second window ever holds more than the budget."""
    budgets = {rps: Budget("whatsapp", rps) for rps in (2.5, 4, 10, 40)}
    allowed = {rps: math.floor(rps) for rps in budgets}

    runs = await asyncio.gather(*(grant_times(b, 2 * allowed[r] + 1) for r, b in budgets.items()))

    most = {rps: most_in_any_window(times) for rps, times in zip(budgets, runs, strict=True)}
    assert all(most[rps] <= allowed[rps] for rps in budgets), (most, allowed)
    # ...and the budget is used, not just respected by being slow.
    assert all(most[rps] >= 0.5 * allowed[rps] for rps in budgets), (most, allowed)


async def test_budget__below_one_per_second() -> None:
    """A budget under 1/s spaces requests 1/rps seconds apart."""
    times = await grant_times(Budget("stripe", 0.8), 2)

    assert most_in_any_window(times, width=1.25) == 1


async def test_budget__no_burst_after_idle() -> None:
    """After an idle spell, a flood still gets at most the budget in any second."""
    budget = Budget("stripe", 10)
    steady = await grant_times(budget, 5)
    await asyncio.sleep(1.5)  # the idle spell is what is tested: a full bucket would burst now

    flood = await grant_times(budget, 15)

    assert most_in_any_window(steady + flood) <= 10
    assert most_in_any_window(flood) >= 5


# --- priorities ---------------------------------------------------------------------------


async def test_budget__high_priority_goes_before_waiting_low() -> None:
    """Platform checks and refreshes go before organization checks that were already waiting."""
    budget, order = Budget("whatsapp", 4), []

    async def caller(label: str, priority: Priority) -> None:
        await budget.acquire(priority)
        order.append(label)

    lows = [asyncio.create_task(caller("low", Priority.LOW)) for _ in range(4)]
    await wait_until(lambda: len(order) == 2)
    highs = [asyncio.create_task(caller("high", Priority.HIGH)) for _ in range(2)]
    await asyncio.gather(*lows, *highs)

    assert order == ["low", "low", "high", "high", "low", "low"]


async def test_budget__equal_priority_first_come_first_served() -> None:
    """Callers of one priority are served in the order they asked."""
    budget, order = Budget("whatsapp", 40), []

    async def caller(number: int) -> None:
        await budget.acquire(Priority.LOW)
        order.append(number)

    await asyncio.gather(*(caller(number) for number in range(8)))

    assert order == list(range(8))


# --- holds --------------------------------------------------------------------------------


@pytest.mark.parametrize("priority", list(Priority))
async def test_budget__hold_pauses_every_caller(priority: Priority) -> None:
    """While a provider-wide rate limit holds, nobody gets budget, whatever the priority."""
    budget, loop = Budget("stripe", 50), asyncio.get_running_loop()
    held_at = loop.time()

    budget.hold(0.5)
    granted_at = await budget.acquire(priority)

    assert 0.5 <= granted_at - held_at < 3


async def test_budget__hold_during_a_backlog() -> None:
    """A hold that starts while callers wait delays all of them until it ends."""
    budget, loop = Budget("stripe", 2), asyncio.get_running_loop()
    waiting = asyncio.gather(*(budget.acquire() for _ in range(4)))
    await wait_until(lambda: budget.waiting == 3)
    held_at = loop.time()

    budget.hold(0.6)
    _, *after_hold = await waiting

    assert min(after_hold) - held_at >= 0.6
    assert max(after_hold) - held_at < 5


async def test_budget__hold_never_shortens() -> None:
    """A shorter hold does not cut a longer one short (two 429s, two Retry-Afters)."""
    budget = Budget("stripe", 5)

    budget.hold(30)
    budget.hold(1)

    assert 29 < budget.held_for() <= 30


# --- deadlines ----------------------------------------------------------------------------


async def test_budget__refresh_deadline_honoured() -> None:
    """A refresh that cannot get budget in time is told so at its deadline, with a retry time."""
    budget, loop = Budget("stripe", 5), asyncio.get_running_loop()
    budget.hold(30)
    started = loop.time()

    with pytest.raises(NoBudgetInTime) as raised:
        await budget.acquire(Priority.HIGH, max_wait=0.2)

    assert 0.2 <= loop.time() - started < 2
    assert 29 < raised.value.retry_after <= 30
    assert str(raised.value) == "no stripe request budget within the deadline"
    assert budget.waiting == 0


async def test_budget__deadline_met_when_budget_frees_in_time() -> None:
    """A refresh whose deadline outlasts the wait gets its budget."""
    budget, loop = Budget("whatsapp", 4), asyncio.get_running_loop()
    first = await budget.acquire()

    second = await budget.acquire(Priority.HIGH, max_wait=2)

    assert 0.25 <= second - first < 2
    assert loop.time() >= second


@pytest.mark.parametrize("give_up", ["deadline", "cancel"])
async def test_budget__a_waiter_that_gives_up_takes_no_slot(give_up: str) -> None:
    """A caller that stops waiting (deadline or cancellation) does not delay the next one."""
    budget = Budget("whatsapp", 1)
    first = await budget.acquire()
    if give_up == "deadline":
        with pytest.raises(NoBudgetInTime):
            await budget.acquire(Priority.HIGH, max_wait=0.1)
    else:
        quitter = asyncio.create_task(budget.acquire(Priority.HIGH))
        await wait_until(lambda: budget.waiting == 1)
        quitter.cancel()
        await asyncio.gather(quitter, return_exceptions=True)

    third = await budget.acquire()

    assert 1.0 <= third - first < 1.9


# --- several providers --------------------------------------------------------------------


async def test_budgets__one_per_provider() -> None:
    """Each provider has its own budget: a busy WhatsApp does not slow Stripe."""
    budgets = Budgets({"whatsapp": 1, "stripe": 1})
    loop = asyncio.get_running_loop()
    await budgets["whatsapp"].acquire()
    whatsapp_waits = asyncio.create_task(budgets["whatsapp"].acquire())
    await wait_until(lambda: budgets["whatsapp"].waiting == 1)
    asked = loop.time()

    stripe_granted = await budgets["stripe"].acquire()

    assert stripe_granted - asked < 0.5
    assert not whatsapp_waits.done()
    assert sorted(budgets) == ["stripe", "whatsapp"]
    assert budgets["stripe"].requests_per_second == 1
    await whatsapp_waits


def test_budgets__unknown_provider() -> None:
    """Asking for a provider without a budget is a plain KeyError; get() says None."""
    budgets = Budgets({"whatsapp": 10})

    assert budgets.get("email") is None
    with pytest.raises(KeyError):
        budgets["stripe"]
