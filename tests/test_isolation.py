"""The suite leaves the developer's settings out: their variables and the `.env` file the
README has them write into the checkout never reach a test's CLI, daemon or settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.server import FakeServer
from tests.support.daemon import SCRUBBED_PREFIXES, subprocess_env

REPO_ROOT = Path(__file__).resolve().parents[1]
# Real tests that start the CLI, the daemon, or read the settings in process; each relies
# on provider and monitor variables being unset unless it sets them.
PROBES = [
    "tests/test_cli.py::test_check__nothing_configured_is_partial_exit_1",
    "tests/test_daemon.py::test_daemon__partial_health_is_warn",
    "tests/test_rate_limits.py::test_retry_transient__off_by_default_one_request",
]


def canary_settings(fake: FakeServer) -> dict[str, str]:
    """Credentials for every provider, all pointing at a fake that records each request."""
    return {
        "WHATSAPP_ACCESS_TOKEN": "canary-whatsapp-token",
        "WHATSAPP_BUSINESS_ACCOUNT_ID": "1234567890",
        "WHATSAPP_GRAPH_API_URL": fake.url,
        "STRIPE_SECRET_KEY": "sk_test_canary",
        "STRIPE_API_URL": fake.url,
        "RESEND_API_KEY": "re_canary",
        "RESEND_API_URL": fake.url,
        "SUPABASE_URL": fake.url,
        "SUPABASE_SERVICE_ROLE_KEY": "canary-service-role",
        "DATABASE_CHECK_MODE": "supabase",
        "MONITOR_RETRY_TRANSIENT": "true",
        "MONITOR_API_TOKEN": "canary-api-token",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(fake.port),
    }


def test_suite__starts_each_test_without_developer_settings() -> None:
    """A test sees no provider, monitor or libpq variable, and runs outside the checkout."""
    assert not [name for name in os.environ if name.startswith(SCRUBBED_PREFIXES)]
    assert not Path.cwd().resolve().is_relative_to(REPO_ROOT)
    assert not Path(".env").exists()


def test_suite__canary_env_and_dotenv_reach_no_provider(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """With canary credentials in the environment and in `.env` where pytest is started, the
    CLI, daemon and in-process tests behave as on a clean machine and call no provider."""
    canaries = canary_settings(fake_server)
    (tmp_path / ".env").write_text(
        "".join(f"{name}={value}\n" for name, value in canaries.items()), encoding="utf-8"
    )
    done = subprocess.run(
        [
            sys.executable,
            *("-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(REPO_ROOT)),
            *("-c", str(REPO_ROOT / "pyproject.toml")),
            *(str(REPO_ROOT / probe) for probe in PROBES),
        ],
        cwd=tmp_path,  # where a developer starts pytest: beside their .env
        env=subprocess_env(canaries),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"{len(PROBES)} passed" in done.stdout
    assert [request.path for request in fake_server.requests] == []
