"""`check --organization`: one organization from the command line, with Nagios exit codes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.fakes.providers import graph_error
from tests.fakes.server import FakeServer
from tests.fleet.organizations_fake import (
    fleet_env,
    organization,
    serve_fleet,
    waba_path,
    write_organizations,
)
from tests.support.daemon import monitor_command


def check_organization(
    env: dict[str, str], organization_id: str, cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*monitor_command(), "check", "--organization", organization_id, "--json"],
        env={"PATH": os.environ.get("PATH", ""), "MONITOR_LOG_FORMAT": "json", **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_organization__healthy_degraded_and_unknown(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """Exit 0 for a healthy organization, 2 for one in error, 3 for an unknown id."""
    rows = [organization(0), organization(1)]
    serve_fleet(fake_server, rows)
    fake_server.route(waba_path(rows[1]), graph_error(190, "Error validating access token", 401))
    env = fleet_env(fake_server, write_organizations(tmp_path / "orgs.yaml", rows))
    env["MONITOR_HOST"] = "127.0.0.1"
    healthy = check_organization(env, "org-0000", tmp_path)
    assert healthy.returncode == 0, healthy.stderr
    body = json.loads(healthy.stdout)
    assert set(body["integrations"]) == {"whatsapp", "stripe"}
    assert body["integrations"]["stripe"]["details"]["email"] == "ops@example.com"
    degraded = check_organization(env, "org-0001", tmp_path)
    assert degraded.returncode == 2
    assert json.loads(degraded.stdout)["integrations"]["whatsapp"]["reason"] == "auth"
    unknown = check_organization(env, "org-9999", tmp_path)
    assert unknown.returncode == 3
    assert "unknown organization" in unknown.stderr
