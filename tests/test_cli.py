"""The command line as operators and scripts use it: exit codes, JSON, config errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.fakes.providers import WABA_PATH, graph_error, provider_env
from tests.fakes.server import FakeServer
from tests.support.daemon import monitor_command


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
