"""MONITOR_INTEGRATIONS on the real daemon: an integration left out exists nowhere."""

from __future__ import annotations

from tests.fakes.providers import WABA_PATH, provider_env
from tests.fakes.server import FakeServer
from tests.support.daemon import running_daemon

FAST = {"MONITOR_INTERVAL_SECONDS": "1", "MONITOR_CHECK_TIMEOUT_SECONDS": "0.5"}


def test_daemon__unlisted_integration_absent_from_every_answer(fake_server: FakeServer) -> None:
    """Without WhatsApp in the list: no WhatsApp in the JSON, health+json or metrics; healthy."""
    env = {k: v for k, v in provider_env(fake_server).items() if not k.startswith("WHATSAPP_")}
    env = {**env, **FAST, "MONITOR_INTEGRATIONS": "stripe,email,database"}
    with running_daemon(env) as daemon:
        status = daemon.get("/api/integrations/status").json()
        health = daemon.get("/health")
        metrics = daemon.get("/metrics").text
    assert list(status["integrations"]) == ["stripe", "email", "database"]
    assert status["overall_status"] == "healthy"
    assert health.status_code == 200
    assert health.json()["status"] == "pass"
    assert sorted(health.json()["checks"]) == [
        "database:connectivity",
        "email:connectivity",
        "stripe:connectivity",
    ]
    assert 'integration="stripe"' in metrics
    assert "whatsapp" not in metrics
    assert 'integration_overall_status{status="healthy"} 1.0' in metrics
    assert fake_server.requests_to(WABA_PATH) == []
