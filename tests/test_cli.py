"""The command line as operators and scripts use it: exit codes, JSON, config errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.fakes.providers import WABA_PATH, graph_error, provider_env
from tests.fakes.server import FakeServer
from tests.support.daemon import monitor_command, running_daemon
from tests.support.net import free_port


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {"PATH": os.environ.get("PATH", ""), "MONITOR_LOG_FORMAT": "json", **(env or {})}
    return subprocess.run(
        monitor_command() + list(args),
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_version__prints_name_and_version() -> None:
    """--version says what is installed."""
    done = run_cli("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("integration-monitor ")


def test_check__nothing_configured_is_partial_exit_1() -> None:
    """With no credentials, every integration is not_configured and the exit code is 1."""
    done = run_cli("check", "--json")
    assert done.returncode == 1
    body = json.loads(done.stdout)
    assert body["overall_status"] == "partial"
    assert {e["status"] for e in body["integrations"].values()} == {"not_configured"}


def test_check__all_healthy_is_exit_0(fake_server: FakeServer) -> None:
    """Every provider healthy: exit 0 and a table naming each integration."""
    done = run_cli("check", env=provider_env(fake_server))
    assert done.returncode == 0, done.stderr
    for name in ("whatsapp", "stripe", "email", "database", "overall: healthy"):
        assert name in done.stdout


def test_check__one_error_is_degraded_exit_2(fake_server: FakeServer) -> None:
    """One failing provider: exit 2, and the JSON names the reason."""
    fake_server.route(WABA_PATH, graph_error(190, "Error validating access token", 400, 463))
    done = run_cli("check", "--json", env=provider_env(fake_server))
    assert done.returncode == 2
    body = json.loads(done.stdout)
    assert body["integrations"]["whatsapp"]["reason"] == "auth"
    assert body["integrations"]["whatsapp"]["details"]["fbtrace_id"] == "AbCdEfGhIjKlMnOp"


def test_check__bad_configuration_is_exit_3_without_traceback() -> None:
    """Invalid configuration: exit 3 (UNKNOWN), every problem on stderr, no traceback."""
    done = run_cli("check", env={"MONITOR_CHECK_TIMEOUT_SECONDS": "-1", "RESEND_API_URL": "resend"})
    assert done.returncode == 3
    assert "MONITOR_CHECK_TIMEOUT_SECONDS" in done.stderr
    assert "RESEND_API_URL" in done.stderr
    assert "Traceback" not in done.stderr


def test_run__bad_configuration_is_exit_2_before_binding() -> None:
    """`run` with invalid configuration exits 2 at once and never listens."""
    env = {
        "MONITOR_INTERVAL_SECONDS": "1",
        "MONITOR_CHECK_TIMEOUT_SECONDS": "5",
        "MONITOR_PORT": "1",
    }
    done = run_cli("run", env=env)
    assert done.returncode == 2
    assert "must be less than MONITOR_INTERVAL_SECONDS" in done.stderr
    assert "Traceback" not in done.stderr


def test_python_m_monitor__works_like_the_script() -> None:
    """`python -m monitor --version` works too."""
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert "integration-monitor" in done.stdout


def without_whatsapp(server: FakeServer) -> dict[str, str]:
    """Every provider but WhatsApp configured, and WhatsApp left out of the deployment."""
    env = {k: v for k, v in provider_env(server).items() if not k.startswith("WHATSAPP_")}
    return {**env, "MONITOR_INTEGRATIONS": "stripe, email, database"}


def test_check__unlisted_integration_is_absent_and_healthy_exit_0(
    fake_server: FakeServer,
) -> None:
    """A deployment without WhatsApp is healthy, and its JSON does not mention WhatsApp."""
    done = run_cli("check", "--json", env=without_whatsapp(fake_server))
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert list(body["integrations"]) == ["stripe", "email", "database"]
    assert body["overall_status"] == "healthy"
    assert fake_server.requests_to(WABA_PATH) == []


def test_check__unknown_integration_is_bad_configuration() -> None:
    """A name that is no integration is refused like any other bad setting: exit 3."""
    done = run_cli("check", env={"MONITOR_INTEGRATIONS": "whatsapp,sms", "MONITOR_PORT": "x"})
    assert done.returncode == 3
    assert "MONITOR_INTEGRATIONS: name 2 is not one of" in done.stderr
    assert "MONITOR_PORT" in done.stderr
    assert "Traceback" not in done.stderr


TLS_WARNING = "database.tls_not_required"
DB_PASSWORD = "pw-canary-tls-4417"


def events(stderr: str, name: str) -> list[dict[str, object]]:
    """The JSON log events called `name` in a captured stderr."""
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [event for event in lines if event.get("event") == name]


def database_only(dsn: str) -> dict[str, str]:
    """Only the PostgreSQL check, on `dsn`, with a short deadline."""
    return {
        "DATABASE_URL": dsn,
        "MONITOR_INTEGRATIONS": "database",
        "MONITOR_INTERVAL_SECONDS": "5",
        "MONITOR_CHECK_TIMEOUT_SECONDS": "2",
    }


def test_check__remote_database_without_tls_is_warned_about() -> None:
    """A DSN that may send the database traffic in plain text over a network: one warning
    naming the host, never the DSN or its password."""
    # 0.0.0.0 is not loopback, yet a connection to it never leaves the machine.
    dsn = f"postgresql://monitor:{DB_PASSWORD}@0.0.0.0:{free_port()}/monitor"
    done = run_cli("check", "--json", env=database_only(dsn))
    [warning] = events(done.stderr, TLS_WARNING)
    assert warning["level"] == "warning"
    assert warning["hosts"] == ["0.0.0.0"]
    assert warning["sslmode"] == "prefer"
    assert "verify-full" in str(warning["message"])
    assert DB_PASSWORD not in done.stderr
    assert "postgresql://" not in done.stderr


def test_check__loopback_or_verified_database_is_not_warned_about() -> None:
    """Loopback traffic, or a DSN that requires TLS, gives no warning."""
    port = free_port()
    for dsn in (
        f"postgresql://monitor:{DB_PASSWORD}@127.0.0.1:{port}/monitor",
        f"postgresql://monitor:{DB_PASSWORD}@0.0.0.0:{port}/monitor?sslmode=verify-full",
    ):
        done = run_cli("check", "--json", env=database_only(dsn))
        assert events(done.stderr, TLS_WARNING) == [], dsn
        assert json.loads(done.stdout)["integrations"]["database"]["status"] == "error"


def test_check__database_left_out_is_not_warned_about() -> None:
    """A DATABASE_URL that the deployment does not check gives no warning."""
    env = {
        **database_only(f"postgresql://u:{DB_PASSWORD}@0.0.0.0/db"),
        "MONITOR_INTEGRATIONS": "email",
    }
    done = run_cli("check", "--json", env=env)
    assert events(done.stderr, TLS_WARNING) == []


def test_run__remote_database_without_tls_is_warned_about_at_start() -> None:
    """The daemon warns once at start, before it serves."""
    dsn = f"postgresql://monitor:{DB_PASSWORD}@0.0.0.0:{free_port()}/monitor?sslmode=allow"
    with running_daemon(database_only(dsn)) as daemon:
        [warning] = daemon.events(TLS_WARNING)
        assert warning["sslmode"] == "allow"
        assert DB_PASSWORD not in daemon.stderr()
