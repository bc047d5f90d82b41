"""The runner: parallel checks, hard deadlines, isolation of failures."""

from __future__ import annotations

import asyncio
import time

from monitor.checks.base import Reason, Status, Target
from monitor.redaction import Redactor
from monitor.runner import Runner
from tests.fakes.checks import (
    CrashingCheck,
    HungCheck,
    ScriptedCheck,
    SelfCancellingCheck,
    SleepyCheck,
    StubbornCheck,
)
from tests.support.waiting import wait_until


def runner(*targets: Target, timeout: float = 5.0, secrets: tuple[str, ...] = ()) -> Runner:
    return Runner(targets, timeout, Redactor(secrets))


async def test_run_cycle__checks_run_in_parallel() -> None:
    """Four checks of 1 s each finish in about 1 s, not 4 s."""
    targets = [Target(f"t{i}", "sleepy", SleepyCheck(1.0)) for i in range(4)]
    started = time.perf_counter()
    results = await runner(*targets).run_cycle()
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0
    assert all(r.status is Status.CONNECTED for r in results.values())
    assert all(r.duration_ms >= 990 for r in results.values())


async def test_run_cycle__slow_check_cut_at_deadline() -> None:
    """A check slower than the timeout is an error with reason timeout, at the deadline."""
    targets = [Target("slow", "sleepy", SleepyCheck(30)), Target("fast", "sleepy", SleepyCheck())]
    started = time.perf_counter()
    results = await runner(*targets, timeout=0.3).run_cycle()
    assert time.perf_counter() - started < 2.0
    assert results["slow"].status is Status.ERROR
    assert results["slow"].reason is Reason.TIMEOUT
    assert results["fast"].status is Status.CONNECTED


async def test_run_cycle__deadline_holds_when_check_ignores_cancellation() -> None:
    """Even a check that swallows cancellation cannot hold the cycle past its deadline."""
    stubborn = StubbornCheck(1.5)
    started = time.perf_counter()
    results = await runner(Target("stubborn", "x", stubborn), timeout=0.2).run_cycle()
    assert time.perf_counter() - started < 1.0
    assert results["stubborn"].reason is Reason.TIMEOUT
    await asyncio.wait_for(stubborn.finished.wait(), timeout=10)


async def test_run_cycle__crash_is_internal_error_and_others_unaffected() -> None:
    """An exception in one check is an `internal` error; the other checks report normally."""
    targets = [Target("bad", "crashy", CrashingCheck()), Target("good", "ok", SleepyCheck())]
    results = await runner(*targets).run_cycle()
    assert results["bad"].reason is Reason.INTERNAL
    assert "ZeroDivisionError" in results["bad"].outcome.message
    assert "Traceback" not in results["bad"].outcome.message
    assert results["good"].healthy


async def test_run_cycle__failure_becomes_error_result_with_reason() -> None:
    """A CheckFailed is reported with its reason and message, stamped with time and duration."""
    results = await runner(Target("x", "x", ScriptedCheck(Reason.AUTH))).run_cycle()
    body = results["x"].to_json()
    assert body["status"] == "error"
    assert body["reason"] == "auth"
    assert body["healthy"] is False
    assert body["checked_at"].endswith("Z")
    assert isinstance(body["duration_ms"], float)


async def test_run_cycle__secret_in_message_is_redacted() -> None:
    """A secret that a check echoes back never reaches the result."""
    check = SleepyCheck(message="token sk_live_abcdef was rejected")
    results = await runner(Target("x", "x", check), secrets=("sk_live_abcdef",)).run_cycle()
    assert "sk_live_abcdef" not in str(results["x"].to_json())
    assert "[REDACTED]" in results["x"].outcome.message


async def test_run_cycle__check_cancelled_from_inside_does_not_sink_the_cycle() -> None:
    """A check that ends cancelled by itself is an internal error; the others still report."""
    targets = [Target("odd", "x", SelfCancellingCheck()), Target("good", "ok", SleepyCheck())]
    results = await runner(*targets).run_cycle()
    assert results["odd"].reason is Reason.INTERNAL
    assert results["good"].healthy


def live_attempts(name: str) -> int:
    """Check tasks of target `name` still on the loop."""
    return sum(1 for task in asyncio.all_tasks() if task.get_name() == f"check:{name}")


async def test_run_cycle__hung_check_keeps_one_attempt_alive_over_many_cycles() -> None:
    """A check that never ends is not started again: one attempt alive, whatever the cycles."""
    hung = HungCheck()
    checks = runner(Target("database", "postgres", hung), timeout=0.05)
    try:
        live = []
        for _ in range(25):
            results = await checks.run_cycle()
            live.append(live_attempts("database"))
    finally:
        hung.released.set()  # whatever happened, nothing may hang the test's event loop
    assert max(live) == 1
    assert hung.runs == 1
    assert results["database"].reason is Reason.TIMEOUT
    assert "previous postgres check has not ended" in results["database"].outcome.message
    await wait_until(lambda: live_attempts("database") == 0)
    assert (await checks.run_cycle())["database"].healthy
    assert hung.runs == 2
