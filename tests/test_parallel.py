"""The four real provider checks run concurrently, not one after another."""

from __future__ import annotations

import time

import pytest

from monitor.config import load_settings
from monitor.redaction import Redactor
from monitor.runner import Runner
from monitor.targets import build_targets
from tests.fakes import providers
from tests.fakes.server import FakeServer, Reply

# Each provider takes this long to answer.
DELAY_SECONDS = 1.0


async def test_cycle__four_slow_providers_are_checked_at_once(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four providers that each take 1 s give a cycle of about 1 s, not 4 s."""
    for path, reply in [
        (providers.WABA_PATH, providers.graph_account()),
        (providers.CUSTOMER_PATH, providers.stripe_customer()),
        ("/domains", providers.resend_domains("verified")),
        (providers.TABLE_PATH, providers.postgrest_rows()),
    ]:
        fake_server.route(path, Reply(reply.status, reply.body, reply.headers, delay=DELAY_SECONDS))
    for name, value in providers.provider_env(fake_server).items():
        monkeypatch.setenv(name, value)
    settings = load_settings(monitor_check_timeout_seconds=5)
    runner = Runner(build_targets(settings), 5, Redactor(settings.secret_values()))
    started = time.perf_counter()
    results = await runner.run_cycle()
    elapsed = time.perf_counter() - started
    assert {name: r.status.value for name, r in results.items()} == dict.fromkeys(
        ("whatsapp", "stripe", "email", "database"), "connected"
    )
    durations = [r.duration_ms / 1000 for r in results.values()]
    assert min(durations) >= DELAY_SECONDS
    # Checked one after another, the cycle would last the sum of the checks (4 s or more);
    # at once, about as long as the slowest. Both grow alike on a loaded machine, so the
    # bound is a ratio: twice the slowest, far from the four times of a serial cycle.
    assert elapsed < 2 * max(durations), (elapsed, durations)
