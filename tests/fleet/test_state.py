"""The fleet state table: pending, thresholds per entry, running counts, removal, oldest result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.checks.base import CheckFailed, CheckResult, Outcome, Reason, Status
from monitor.fleet.state import PENDING, FleetState
from monitor.store import Thresholds

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ok(at: datetime = T0) -> CheckResult:
    return CheckResult(Outcome.connected("ok"), at, 1.0)


def err(reason: Reason = Reason.AUTH, at: datetime = T0) -> CheckResult:
    return CheckResult(Outcome.failed(CheckFailed(reason, "bad")), at, 1.0)


def fleet(*organizations: str, failure_threshold: int = 1) -> FleetState:
    state = FleetState(("whatsapp", "stripe"), Thresholds(failure_threshold, 1))
    state.set_organizations(organizations)
    return state


def test_state__every_organization_is_pending_before_its_first_result() -> None:
    """A new organization shows as pending in the counts until it has been checked."""
    state = fleet("a", "b", "c")
    assert state.status_counts("whatsapp") == {
        "connected": 0,
        "not_configured": 0,
        "error": 0,
        PENDING: 3,
    }
    assert state.reported("a", "whatsapp") is None


def test_record__first_result_is_a_transition_from_pending() -> None:
    """The first result of an organization is a change from pending, and counted."""
    state = fleet("a", "b")
    transition = state.record("a", "whatsapp", err(Reason.AUTH))
    assert transition is not None
    assert (transition.previous, transition.current, transition.is_first) == (
        PENDING,
        Status.ERROR,
        True,
    )
    assert state.status_counts("whatsapp")["error"] == 1
    assert state.status_counts("whatsapp")[PENDING] == 1
    assert state.error_counts("whatsapp")[Reason.AUTH] == 1


def test_record__threshold_applies_per_organization() -> None:
    """With a failure threshold of 2, one failure of one organization changes nothing."""
    state = fleet("a", "b", failure_threshold=2)
    state.record("a", "whatsapp", ok())
    state.record("b", "whatsapp", ok())
    assert state.record("a", "whatsapp", err()) is None
    assert state.status_counts("whatsapp")["connected"] == 2
    transition = state.record("a", "whatsapp", err())
    assert transition is not None
    assert transition.current is Status.ERROR
    assert state.status_counts("whatsapp")["connected"] == 1


def test_record__reason_counts_follow_a_change_of_reason() -> None:
    """An organization staying in error with a new reason moves between reason counts."""
    state = fleet("a")
    state.record("a", "stripe", err(Reason.AUTH))
    assert state.record("a", "stripe", err(Reason.NOT_FOUND)) is None
    counts = state.error_counts("stripe")
    assert (counts[Reason.AUTH], counts[Reason.NOT_FOUND]) == (0, 1)


def test_set_organizations__removed_ones_leave_counts_and_late_results_are_dropped() -> None:
    """A removed organization disappears from counts; a result arriving after that is ignored."""
    state = fleet("a", "b")
    state.record("a", "whatsapp", err())
    state.set_organizations(["b"])
    assert state.status_counts("whatsapp") == {
        "connected": 0,
        "not_configured": 0,
        "error": 0,
        PENDING: 1,
    }
    assert state.record("a", "whatsapp", err()) is None
    assert state.reported("a", "whatsapp") is None
    assert len(state) == 1


def test_oldest_result_at__is_the_least_recently_checked_organization() -> None:
    """The oldest result moves on as organizations are checked again."""
    state = fleet("a", "b")
    assert state.oldest_result_at("whatsapp") is None
    state.record("a", "whatsapp", ok(T0))
    state.record("b", "whatsapp", ok(T0 + timedelta(seconds=10)))
    assert state.oldest_result_at("whatsapp") == T0
    state.record("a", "whatsapp", ok(T0 + timedelta(seconds=20)))
    assert state.oldest_result_at("whatsapp") == T0 + timedelta(seconds=10)


def test_errors_oldest_first__follows_entering_error_recovery_and_reason_changes() -> None:
    """Errors are listed in the order they began; a recovery removes one, a new reason renews it."""
    state = fleet("a", "b", "c")
    state.record("a", "whatsapp", err(Reason.AUTH))
    state.record("b", "stripe", err(Reason.NOT_FOUND))
    state.record("c", "whatsapp", err(Reason.TIMEOUT))
    state.record("a", "whatsapp", err(Reason.AUTH))  # the same error again keeps its place
    assert [e[0] for e in state.errors_oldest_first()] == ["a", "b", "c"]
    state.record("b", "stripe", ok())
    state.record("a", "whatsapp", err(Reason.PERMISSION))
    assert list(state.errors_oldest_first()) == [
        ("c", "whatsapp", Reason.TIMEOUT),
        ("a", "whatsapp", Reason.PERMISSION),
    ]
    state.set_organizations(["a"])
    assert state.error_entries() == 1


def test_oldest_result_at__leaves_out_what_is_never_checked_again() -> None:
    """An organization without a WABA keeps its not_configured result; the age goes by the rest."""
    state = fleet("a", "b")
    state.record("a", "whatsapp", CheckResult(Outcome.not_configured("no WABA"), T0, 0.0, 0))
    assert state.oldest_result_at("whatsapp") is None
    state.record("b", "whatsapp", ok(T0 + timedelta(seconds=30)))
    assert state.oldest_result_at("whatsapp") == T0 + timedelta(seconds=30)
