"""The stack's binaries are started with the suite's own free-port and wait helpers."""

import pytest

from tests.monitoring import live_alertmanager, live_prometheus, stack_binaries
from tests.support import daemon, net


def test_stack_binaries__share_the_suite_helpers() -> None:
    """One free-port and one wait helper for the whole suite: a fix to either reaches the
    Prometheus and Alertmanager tests too, and no copy drifts apart."""
    assert stack_binaries.wait_for is daemon.wait_for
    assert live_prometheus.free_port is live_alertmanager.free_port is net.free_port
    for copy in ("free_loopback_port", "wait_until", "POLL_SECONDS"):
        assert not hasattr(stack_binaries, copy), copy


def test_wait_for__timeout_names_what_was_awaited() -> None:
    """A server that never gets ready fails the test with a message saying what was awaited."""
    with pytest.raises(AssertionError, match=r"after 0\.1 s waiting for Alertmanager to be ready"):
        daemon.wait_for(lambda: False, 0.1, interval=0.01, what="Alertmanager to be ready")
