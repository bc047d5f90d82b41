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


async def test_cycle__four_one_second_providers_finish_well_under_two_seconds(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four providers that each take 1 s give a cycle of about 1 s."""
    for path, reply in [
        (providers.WABA_PATH, providers.graph_account()),
        (providers.CUSTOMER_PATH, providers.stripe_customer()),
        ("/domains", providers.resend_domains("verified")),
        (providers.TABLE_PATH, providers.postgrest_rows()),
    ]:
        fake_server.route(path, Reply(reply.status, reply.body, reply.headers, delay=1.0))
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
    assert all(r.duration_ms >= 1000 for r in results.values())
    assert elapsed < 1.8
