"""The real daemon, end to end: a subprocess against fake providers, read over HTTP."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.fakes.providers import (
    CANARIES,
    WABA_PATH,
    graph_account,
    graph_error,
    provider_env,
)
from tests.fakes.server import FakeServer, Reply
from tests.support.daemon import Daemon, running_daemon, wait_for
from tests.support.postgres import PostgresServer
from tests.support.promtool import check_metrics

FAST = {"MONITOR_INTERVAL_SECONDS": "1", "MONITOR_CHECK_TIMEOUT_SECONDS": "0.5"}


def whatsapp_status(daemon: Daemon) -> str:
    return str(daemon.get("/api/integrations/status").json()["integrations"]["whatsapp"]["status"])


def test_daemon__break_and_heal_a_provider(fake_server: FakeServer) -> None:
    """A provider that breaks shows in the JSON, the metrics and one log line; then heals."""
    with running_daemon({**provider_env(fake_server), **FAST}) as daemon:
        body = daemon.get("/api/integrations/status").json()
        assert body["overall_status"] == "healthy"
        assert 'integration_up{integration="whatsapp"} 1.0' in daemon.get("/metrics").text

        fake_server.route(WABA_PATH, graph_error(190, "Error validating access token", 400, 463))
        wait_for(lambda: whatsapp_status(daemon) == "error")
        body = daemon.get("/api/integrations/status").json()
        assert body["overall_status"] == "degraded"
        assert body["integrations"]["whatsapp"]["reason"] == "auth"
        metrics = daemon.get("/metrics").text
        assert 'integration_up{integration="whatsapp"} 0.0' in metrics
        assert 'integration_status{integration="whatsapp",status="error"} 1.0' in metrics
        [broke] = wait_for(
            lambda: [
                e for e in daemon.events("integration.state_changed") if e.get("current") == "error"
            ]
        )
        assert broke["level"] == "warning"
        assert broke["previous"] == "connected"
        assert broke["reason"] == "auth"
        assert {"integration", "message", "duration_ms"} <= set(broke)

        fake_server.route(WABA_PATH, graph_account())
        wait_for(lambda: whatsapp_status(daemon) == "connected")
        assert daemon.terminate() == 0
    events = [e["event"] for e in daemon.events()]
    assert events[0] == "monitor.started"
    assert events[-1] == "monitor.stopped"
    assert "Traceback" not in daemon.stderr()


def test_daemon__first_results_logged_from_unknown(fake_server: FakeServer) -> None:
    """Every integration's first result is one state_changed event from unknown."""
    with running_daemon({**provider_env(fake_server), **FAST}) as daemon:
        first = wait_for(
            lambda: (
                [
                    e
                    for e in daemon.events("integration.state_changed")
                    if e["previous"] == "unknown"
                ]
                or None
            )
        )
        wait_for(lambda: len(daemon.events("integration.state_changed")) >= 4)
        first = daemon.events("integration.state_changed")
        assert {e["integration"] for e in first} == {"whatsapp", "stripe", "email", "database"}
        assert all(e["previous"] == "unknown" for e in first)
        assert all(e["level"] == "info" for e in first)


def test_daemon__status_served_from_cache_while_provider_hangs(fake_server: FakeServer) -> None:
    """While a check hangs, status and metrics answer at once from the last snapshot."""
    deadline = 1.5
    env = {
        **provider_env(fake_server),
        "MONITOR_INTERVAL_SECONDS": "2",
        "MONITOR_CHECK_TIMEOUT_SECONDS": str(deadline),
    }
    with running_daemon(env) as daemon:
        asked = len(fake_server.requests_to(WABA_PATH))
        fake_server.route(WABA_PATH, Reply(hang=True))
        wait_for(lambda: len(fake_server.requests_to(WABA_PATH)) > asked)  # a cycle hangs now
        for _ in range(5):
            response = daemon.get("/api/integrations/status")
            assert response.status_code == 200
            # Still the snapshot from before the hang: nobody waited for the hanging check.
            assert response.json()["integrations"]["whatsapp"]["status"] == "connected"
            # Half the deadline: an answer that waited for the check would take all of it.
            assert response.elapsed.total_seconds() < deadline / 2
            assert daemon.get("/metrics").elapsed.total_seconds() < deadline / 2
        wait_for(lambda: whatsapp_status(daemon) == "error")
        body = daemon.get("/api/integrations/status").json()
        assert body["integrations"]["whatsapp"]["reason"] == "timeout"


def test_daemon__cache_control_counts_down_to_next_cycle(fake_server: FakeServer) -> None:
    """Cache-Control max-age is the time until the next cycle, never more than the interval."""
    env = {
        **provider_env(fake_server),
        "MONITOR_INTERVAL_SECONDS": "30",
        "MONITOR_CHECK_TIMEOUT_SECONDS": "2",
    }
    with running_daemon(env) as daemon:
        header = daemon.get("/api/integrations/status").headers["cache-control"]
        max_age = int(header.removeprefix("max-age="))
        assert 0 < max_age <= 30


def test_daemon__not_ready_until_first_cycle(fake_server: FakeServer) -> None:
    """Before the first cycle ends: /readyz and the status API say 503 with Retry-After."""
    fake_server.route(WABA_PATH, Reply(delay=3, status=200, body=b"{}"))
    env = {
        **provider_env(fake_server),
        "MONITOR_INTERVAL_SECONDS": "20",
        "MONITOR_CHECK_TIMEOUT_SECONDS": "5",
    }
    with running_daemon(env, wait_ready=False) as daemon:
        wait_for(lambda: _answers(daemon, "/livez"))
        assert daemon.get("/readyz").status_code == 503
        status = daemon.get("/api/integrations/status")
        assert status.status_code == 503
        assert "retry-after" in status.headers
        health = daemon.get("/health")
        assert health.status_code == 503
        assert health.headers["content-type"].startswith("application/health+json")
        assert health.json()["status"] == "fail"
        assert daemon.get("/metrics").status_code == 200
        assert daemon.get("/livez").status_code == 200
        wait_for(lambda: daemon.get("/readyz").status_code == 200)


def _answers(daemon: Daemon, path: str) -> bool:
    try:
        daemon.get(path)
    except Exception:  # not listening yet
        return False
    return True


def test_daemon__refresh_runs_a_cycle_shared_by_concurrent_callers(
    fake_server: FakeServer,
) -> None:
    """POST refresh returns fresh results; a second one within 5 s reuses them."""
    env = {
        **provider_env(fake_server),
        "MONITOR_INTERVAL_SECONDS": "60",
        "MONITOR_CHECK_TIMEOUT_SECONDS": "2",
    }
    with running_daemon(env) as daemon:
        before = len(fake_server.requests_to(WABA_PATH))
        fake_server.route(WABA_PATH, graph_error(4, "Application request limit reached", 400))
        first = daemon.post("/api/integrations/refresh")
        assert first.status_code == 200
        # The cycle at start-up is younger than 5 s, so this is the cached snapshot.
        assert first.json()["integrations"]["whatsapp"]["status"] == "connected"
        assert len(fake_server.requests_to(WABA_PATH)) == before


def test_daemon__health_json_follows_overall(fake_server: FakeServer) -> None:
    """/health is application/health+json: pass with 200, fail with 503 when degraded."""
    with running_daemon({**provider_env(fake_server), **FAST}) as daemon:
        healthy = daemon.get("/health")
        assert healthy.status_code == 200
        assert healthy.headers["content-type"].startswith("application/health+json")
        assert healthy.json()["status"] == "pass"
        assert set(healthy.json()["checks"]) == {
            "whatsapp:connectivity",
            "stripe:connectivity",
            "email:connectivity",
            "database:connectivity",
        }
        fake_server.route(WABA_PATH, graph_error(100, "Unsupported get request", 400, 33))
        wait_for(lambda: daemon.get("/health").status_code == 503)
        failing = daemon.get("/health").json()
        assert failing["status"] == "fail"
        assert failing["checks"]["whatsapp:connectivity"][0]["status"] == "fail"


def test_daemon__partial_health_is_warn() -> None:
    """With nothing configured, /health says warn with 200."""
    with running_daemon(FAST) as daemon:
        response = daemon.get("/health")
        assert response.status_code == 200
        assert response.json()["status"] == "warn"


def test_daemon__api_token_guards_api_and_health(fake_server: FakeServer) -> None:
    """With MONITOR_API_TOKEN set, /api/* and /health need it; probes and metrics stay open."""
    env = {**provider_env(fake_server), **FAST, "MONITOR_API_TOKEN": "tok-canary-0192"}
    with running_daemon(env) as daemon:
        for path in ("/api/integrations/status", "/health"):
            assert daemon.get(path).status_code == 401
            wrong = daemon.get(path, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            right = daemon.get(path, headers={"Authorization": "Bearer tok-canary-0192"})
            assert right.status_code == 200
        assert daemon.post("/api/integrations/refresh").status_code == 401
        for path in ("/metrics", "/livez", "/readyz"):
            assert daemon.get(path).status_code == 200


def test_daemon__unknown_path_and_method_are_plain_4xx(fake_server: FakeServer) -> None:
    """Unknown paths and wrong methods get 404/405 with no traceback."""
    with running_daemon({**provider_env(fake_server), **FAST}) as daemon:
        assert daemon.get("/nope").status_code == 404
        assert daemon.post("/api/integrations/status").status_code == 405
        assert daemon.get("/api/integrations/refresh").status_code == 405
        assert "Traceback" not in daemon.stderr()


def test_daemon__port_in_use_exits_1_with_a_log_line(fake_server: FakeServer) -> None:
    """A taken port is a clear error and exit 1, not a traceback."""
    env = {**FAST, "MONITOR_PORT": str(fake_server.port)}
    with running_daemon(env, wait_ready=False) as daemon:
        assert daemon.process.wait(timeout=20) == 1
        assert daemon.events("monitor.bind_failed")
        assert "Traceback" not in daemon.stderr()


def test_daemon__sigint_is_a_clean_stop_too(fake_server: FakeServer) -> None:
    """Ctrl-C stops the daemon with exit 0 and a monitor.stopped event."""
    with running_daemon({**provider_env(fake_server), **FAST}) as daemon:
        daemon.process.send_signal(signal.SIGINT)
        assert daemon.process.wait(timeout=10) == 0
        assert daemon.events("monitor.stopped")


# A check that hangs far longer than the 2 s a stop may take.
HANGING_LONG = {"MONITOR_INTERVAL_SECONDS": "60", "MONITOR_CHECK_TIMEOUT_SECONDS": "30"}
STOP_SECONDS = 2.0  # the contract's bound for SIGTERM during a cycle


def timed_terminate(daemon: Daemon) -> tuple[int, float]:
    """SIGTERM; the exit code and the seconds it took to exit."""
    started = time.monotonic()
    code = daemon.terminate(timeout=10)
    return code, time.monotonic() - started


def assert_stopped_quietly(daemon: Daemon) -> None:
    """Only JSON events on stderr, none at error level, no traceback, and a last word."""
    lines = daemon.stderr().splitlines()
    assert all(line.startswith("{") for line in lines), daemon.stderr()
    assert [e for e in daemon.events() if e["level"] in ("error", "critical")] == []
    assert not [e for e in daemon.events() if "exception" in e]
    assert "Traceback" not in daemon.stderr()
    assert daemon.events()[-1]["event"] == "monitor.stopped"


def test_daemon__sigterm_mid_cycle_exits_quietly(fake_server: FakeServer) -> None:
    """SIGTERM while a scheduled check hangs: exit 0 within 2 s, no error, no traceback."""
    fake_server.route(WABA_PATH, Reply(hang=True))
    with running_daemon({**provider_env(fake_server), **HANGING_LONG}, wait_ready=False) as daemon:
        wait_for(lambda: _answers(daemon, "/livez"))
        wait_for(lambda: fake_server.requests_to(WABA_PATH))
        code, seconds = timed_terminate(daemon)

    assert code == 0
    assert seconds < STOP_SECONDS
    assert_stopped_quietly(daemon)


def refresh_that_starts_a_cycle(daemon: Daemon, server: FakeServer) -> httpx.Response:
    """POST refresh until one starts a cycle (within 5 s of the last, the cache answers)."""
    asked = len(server.requests_to(WABA_PATH))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = daemon.post("/api/integrations/refresh")
        if len(server.requests_to(WABA_PATH)) > asked:
            return response  # this one's cycle asked the provider: it waited for that cycle
        time.sleep(0.05)  # the pace of the polling
    raise AssertionError("no refresh started a cycle")


def test_daemon__sigterm_mid_refresh_answers_503(fake_server: FakeServer) -> None:
    """SIGTERM while a refresh waits for its cycle: that refresh gets 503 and Retry-After."""
    with running_daemon({**provider_env(fake_server), **HANGING_LONG}) as daemon:
        asked = len(fake_server.requests_to(WABA_PATH))
        fake_server.route(WABA_PATH, Reply(hang=True))
        with ThreadPoolExecutor(max_workers=1) as pool:
            refreshing = pool.submit(refresh_that_starts_a_cycle, daemon, fake_server)
            wait_for(lambda: len(fake_server.requests_to(WABA_PATH)) > asked, timeout=30)
            code, seconds = timed_terminate(daemon)
            refreshed = refreshing.result(timeout=10)

    assert refreshed.status_code == 503
    assert int(refreshed.headers["retry-after"]) > 0
    assert refreshed.json() == {"error": "the monitor is shutting down"}
    assert code == 0
    assert seconds < STOP_SECONDS
    assert_stopped_quietly(daemon)


def test_daemon__canary_secrets_never_leave(fake_server: FakeServer) -> None:
    """No secret appears in logs, metrics, JSON or health, even when a provider echoes it."""
    token = CANARIES["WHATSAPP_ACCESS_TOKEN"]
    env = {**provider_env(fake_server), **FAST, "MONITOR_LOG_LEVEL": "debug"}
    with running_daemon(env) as daemon:
        fake_server.route(WABA_PATH, graph_error(190, f"Invalid OAuth access token - {token}"))
        wait_for(lambda: whatsapp_status(daemon) == "error")
        outputs = [
            daemon.get("/api/integrations/status").text,
            daemon.get("/metrics").text,
            daemon.get("/health").text,
            daemon.post("/api/integrations/refresh").text,
        ]
        assert daemon.terminate() == 0
    outputs.append(daemon.stderr())
    for secret in CANARIES.values():
        for output in outputs:
            assert secret not in output


def test_daemon__promtool_finds_nothing_in_metrics(fake_server: FakeServer) -> None:
    """`promtool check metrics` reports nothing on the live exposition."""
    fake_server.route(WABA_PATH, graph_error(190, "expired"))
    with running_daemon({**provider_env(fake_server), **FAST}) as daemon:
        wait_for(lambda: whatsapp_status(daemon) == "error")
        exposition = daemon.get("/metrics").text
    done = check_metrics(exposition)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == ""
    assert done.stderr.strip() == ""


def test_daemon__database_and_api_token_canaries_never_leave(postgres: PostgresServer) -> None:
    """The DSN, its password and the API token appear in no log line, metric or answer."""
    api_token = "api-token-canary-5b7e"
    wrong_password = "wrong-pw-canary-77aa"
    env = {
        **FAST,
        "DATABASE_CHECK_MODE": "postgres",
        "MONITOR_API_TOKEN": api_token,
        "DATABASE_URL": postgres.dsn(password=wrong_password),
        "MONITOR_LOG_LEVEL": "debug",
    }
    auth = {"Authorization": f"Bearer {api_token}"}
    with running_daemon(env) as daemon:
        body = daemon.get("/api/integrations/status", headers=auth).json()
        assert body["integrations"]["database"]["reason"] == "auth"
        outputs = [
            daemon.get("/api/integrations/status", headers=auth).text,
            daemon.get("/health", headers=auth).text,
            daemon.get("/metrics").text,
            daemon.get("/api/integrations/status").text,
        ]
        assert daemon.terminate() == 0
    outputs.append(daemon.stderr())
    for secret in (api_token, wrong_password, postgres.dsn(password=wrong_password)):
        for output in outputs:
            assert secret not in output


def test_daemon__refresh_rejects_huge_and_malformed_bodies(fake_server: FakeServer) -> None:
    """A huge body gets 413 and bad JSON 400, plainly; an empty JSON object is fine."""
    with running_daemon({**provider_env(fake_server), **FAST}) as daemon:
        huge = daemon.post("/api/integrations/refresh", content=b"x" * (5 * 1024 * 1024))
        assert huge.status_code == 413
        bad = daemon.post(
            "/api/integrations/refresh",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
        assert bad.status_code == 400
        assert bad.json() == {"error": "the request body is not valid JSON"}
        untyped = daemon.post("/api/integrations/refresh", content=b"refresh please")
        assert untyped.status_code == 400
        fine = daemon.post("/api/integrations/refresh", json={})
        assert fine.status_code == 200
        assert daemon.get("/livez").status_code == 200
        assert "Traceback" not in daemon.stderr()
