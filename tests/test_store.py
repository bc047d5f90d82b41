"""The snapshot store: overall status, transitions and hysteresis thresholds."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.checks.base import CheckFailed, CheckResult, Outcome, Reason, Status
from monitor.store import SnapshotStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def ok() -> CheckResult:
    return CheckResult(Outcome.connected("ok"), NOW, 1.0)


def err(reason: Reason = Reason.TIMEOUT) -> CheckResult:
    return CheckResult(Outcome.failed(CheckFailed(reason, "bad")), NOW, 1.0)


def unset() -> CheckResult:
    return CheckResult(Outcome.not_configured("not set"), NOW, 0.0)


def statuses(store: SnapshotStore) -> dict[str, str]:
    assert store.current is not None
    return {n: e.reported.status.value for n, e in store.current.integrations.items()}


def test_apply__first_results_are_changes_from_unknown() -> None:
    """Each integration's first result is logged as a change from unknown."""
    store = SnapshotStore()
    transitions = store.apply({"a": ok(), "b": err()}, NOW, 0.1)
    assert [(t.integration, t.previous, t.current) for t in transitions] == [
        ("a", "unknown", Status.CONNECTED),
        ("b", "unknown", Status.ERROR),
    ]


def test_overall_status__degraded_partial_healthy() -> None:
    """Any error is degraded; else any not_configured is partial; else healthy."""
    store = SnapshotStore()
    store.apply({"a": ok(), "b": unset(), "c": err()}, NOW, 0.1)
    assert store.current is not None
    assert store.current.overall_status.value == "degraded"
    store.apply({"a": ok(), "b": unset(), "c": ok()}, NOW, 0.1)
    assert store.current.overall_status.value == "partial"
    store.apply({"a": ok(), "b": ok(), "c": ok()}, NOW, 0.1)
    assert store.current.overall_status.value == "healthy"


def test_apply__unchanged_status_is_no_transition() -> None:
    """Staying connected (or staying in error with another reason) logs nothing new."""
    store = SnapshotStore()
    store.apply({"a": ok(), "b": err(Reason.TIMEOUT)}, NOW, 0.1)
    assert store.apply({"a": ok(), "b": err(Reason.AUTH)}, NOW, 0.1) == []
    assert store.current is not None
    assert store.current.integrations["b"].reported.reason is Reason.AUTH


def test_apply__failure_threshold_holds_connected_until_reached() -> None:
    """With a failure threshold of 3, two failures keep 'connected' and the third reports error."""
    store = SnapshotStore(failure_threshold=3)
    store.apply({"a": ok()}, NOW, 0.1)
    assert store.apply({"a": err()}, NOW, 0.1) == []
    assert store.apply({"a": err()}, NOW, 0.1) == []
    assert statuses(store) == {"a": "connected"}
    assert store.current is not None
    pending = store.current.to_json()["integrations"]["a"]["last_result"]
    assert pending["status"] == "error"
    assert pending["consecutive"] == 2
    [transition] = store.apply({"a": err()}, NOW, 0.1)
    assert (transition.previous, transition.current) == ("connected", Status.ERROR)


def test_apply__success_between_failures_resets_the_count() -> None:
    """A good result between failures restarts the count: flapping never reaches the threshold."""
    store = SnapshotStore(failure_threshold=2)
    store.apply({"a": ok()}, NOW, 0.1)
    for _ in range(5):
        assert store.apply({"a": err()}, NOW, 0.1) == []
        assert store.apply({"a": ok()}, NOW, 0.1) == []
    assert statuses(store) == {"a": "connected"}
    assert store.current is not None
    assert "last_result" not in store.current.to_json()["integrations"]["a"]


def test_apply__success_threshold_holds_error_until_reached() -> None:
    """With a success threshold of 2, one good result keeps 'error' reported."""
    store = SnapshotStore(success_threshold=2)
    store.apply({"a": err()}, NOW, 0.1)
    assert store.apply({"a": ok()}, NOW, 0.1) == []
    assert statuses(store) == {"a": "error"}
    [transition] = store.apply({"a": ok()}, NOW, 0.1)
    assert transition.current is Status.CONNECTED


def test_apply__not_configured_ignores_thresholds() -> None:
    """Configuration is not flaky: not_configured is reported at once whatever the thresholds."""
    store = SnapshotStore(failure_threshold=5, success_threshold=5)
    store.apply({"a": unset()}, NOW, 0.1)
    [transition] = store.apply({"a": ok()}, NOW, 0.1)
    assert (transition.previous, transition.current) == ("not_configured", Status.CONNECTED)


def test_snapshot__json_has_dashboard_shape() -> None:
    """The JSON has integrations, overall_status and last_checked, as the dashboard reads."""
    store = SnapshotStore()
    store.apply({"whatsapp": ok()}, NOW, 0.1)
    assert store.current is not None
    body = store.current.to_json()
    assert set(body) == {"integrations", "overall_status", "last_checked"}
    assert body["last_checked"] == "2026-01-01T00:00:00.000Z"
    assert body["integrations"]["whatsapp"]["healthy"] is True
