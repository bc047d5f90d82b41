"""Three shards on one machine: one organization file, fake providers, a real PostgreSQL sink and
a real Prometheus scraping every shard with the shipped rules.

Checks run every second and organizations every 2 s; the rules are loaded 60 times faster
(rules_override), so `for: 5m` waits 5 s.
"""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import yaml

from tests.fakes.providers import WABA_ID, WABA_PATH, graph_account, graph_error
from tests.fakes.server import FakeServer
from tests.fleet.organizations_fake import (
    fleet_env,
    organization,
    serve_fleet,
    waba_path,
    write_organizations,
)
from tests.monitoring.live_prometheus import (
    alerts,
    api_get,
    firing,
    healthy_targets,
    running_prometheus,
)
from tests.monitoring.rules_override import write_fast_rule_files
from tests.monitoring.stack_files import PROMETHEUS_CONFIG, PROMETHEUS_DIR, RULES_DIR, load_yaml
from tests.support.daemon import Daemon, monitor_command, running_daemon, subprocess_env, wait_for
from tests.support.postgres import running_postgres

SHARDS = 3
ORGANIZATIONS = 30
ORGANIZATION_INTERVAL_SECONDS = 2
JOB = "integration-monitor"
SPEED_UP = 60
FIRE_DEADLINE_SECONDS = 40.0
# The fleet page: more than 5 % of the organizations' WhatsApp failing for one reason at once.
FLEET_ALERT = "OrganizationsFailingByReason"
PLATFORM_ALERT = "IntegrationError"


def owner(organization_id: str) -> int:
    digest = hashlib.sha256(organization_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % SHARDS


def migrate(dsn: str) -> None:
    done = subprocess.run(
        [*monitor_command(), "migrate"],
        env=subprocess_env({"MONITOR_STATUS_SINK_URL": dsn}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@contextlib.contextmanager
def shards(server: FakeServer, organizations: Path, dsn: str) -> Iterator[list[Daemon]]:
    with contextlib.ExitStack() as stack:
        daemons = []
        for index in range(SHARDS):
            env = fleet_env(
                server,
                organizations,
                MONITOR_SHARD=f"{index}/{SHARDS}",
                MONITOR_INTERVAL_SECONDS="1",
                MONITOR_CHECK_TIMEOUT_SECONDS="0.5",
                MONITOR_ORGANIZATION_INTERVAL_SECONDS=str(ORGANIZATION_INTERVAL_SECONDS),
                MONITOR_ORGANIZATIONS_RELOAD_SECONDS="5",
                MONITOR_WHATSAPP_MAX_RPS="50",
                MONITOR_STRIPE_MAX_RPS="50",
                WHATSAPP_BUSINESS_ACCOUNT_ID=WABA_ID,
                MONITOR_STATUS_SINK="postgres",
                MONITOR_STATUS_SINK_URL=dsn,
            )
            daemons.append(stack.enter_context(running_daemon(env)))
        yield daemons


def write_prometheus_config(workdir: Path, daemons: list[Daemon]) -> Path:
    """The shipped configuration scraping every shard each second, the rules sped up."""
    write_fast_rule_files(RULES_DIR, workdir / RULES_DIR.relative_to(PROMETHEUS_DIR), SPEED_UP)
    config = load_yaml(PROMETHEUS_CONFIG)
    config["global"] = {
        "scrape_interval": "1s",
        "scrape_timeout": "1s",
        "evaluation_interval": "1s",
    }
    config.pop("alerting", None)
    (scrape,) = [job for job in config["scrape_configs"] if job["job_name"] == JOB]
    scrape["static_configs"] = [{"targets": [d.url.removeprefix("http://") for d in daemons]}]
    target = workdir / "prometheus.yml"
    target.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return target


def sink_rows(dsn: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(organization, integration) -> (status, shard) as the sink holds them."""
    with psycopg.connect(dsn) as connection:
        rows = connection.execute(
            "SELECT organization_id, integration, status, shard"
            " FROM integration_monitor.organization_status"
        ).fetchall()
    return {(o, i): (status, shard) for o, i, status, shard in rows}


def firing_with(prometheus: str, alertname: str, **labels: str) -> list[dict[str, Any]]:
    return [
        alert
        for alert in firing(prometheus, alertname)
        if all(alert["labels"].get(k) == v for k, v in labels.items())
    ]


def explain(prometheus: str) -> str:
    return "; ".join(f"{a['labels']} {a['state']}" for a in alerts(prometheus))


def test_shards__split_the_fleet_fill_the_sink_and_page_once(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    rows = [organization(n) for n in range(ORGANIZATIONS)]
    serve_fleet(fake_server, rows)
    fake_server.route(WABA_PATH, graph_account())
    organizations = write_organizations(tmp_path / "orgs.yaml", rows)
    ids = sorted(r["id"] for r in rows)
    (tmp_path / "prom").mkdir()
    with running_postgres() as postgres:
        dsn = postgres.dsn()
        migrate(dsn)
        with shards(fake_server, organizations, dsn) as daemons:
            # Each shard lists only its own; together they cover every organization once.
            listed = [
                [
                    o["id"]
                    for o in d.get("/api/organizations", params={"limit": 1000}).json()[
                        "organizations"
                    ]
                ]
                for d in daemons
            ]
            assert sorted(i for shard in listed for i in shard) == ids
            for index, shard_ids in enumerate(listed):
                assert all(owner(i) == index for i in shard_ids)

            # The sink holds every organization's WhatsApp and Stripe, each from its own shard.
            def sink_full() -> dict[tuple[str, str], tuple[str, str]] | None:
                held = sink_rows(dsn)
                return held if len(held) == 2 * ORGANIZATIONS else None

            held = wait_for(sink_full, timeout=30, what="a sink row per organization")
            for (organization_id, _), (status, shard) in held.items():
                assert shard == f"{owner(organization_id)}/{SHARDS}"
                assert status == "connected"

            # No organization is checked twice: over a few intervals, each WABA was asked for
            # about once per interval, never twice as often.
            started = time.monotonic()
            before = Counter(r.path for r in fake_server.requests)
            time.sleep(4 * ORGANIZATION_INTERVAL_SECONDS)
            after = Counter(r.path for r in fake_server.requests)
            rounds = (time.monotonic() - started) / ORGANIZATION_INTERVAL_SECONDS
            for row in rows:
                asked = after[waba_path(row)] - before[waba_path(row)]
                assert 1 <= asked <= rounds + 1, (row["id"], asked, rounds)

            prometheus_config = write_prometheus_config(tmp_path / "prom", daemons)
            with running_prometheus(prometheus_config, tmp_path / "prom") as prometheus:
                wait_for(
                    lambda: len(healthy_targets(prometheus, JOB)) == SHARDS,
                    timeout=20,
                    what="every shard scraped",
                )
                assert api_get(prometheus, "rules")["status"] == "success"
                _fleet_page_fires_and_resolves(fake_server, rows, prometheus, dsn)
                _platform_page_once_per_integration(fake_server, prometheus)


def _fleet_page_fires_and_resolves(
    server: FakeServer, rows: list[dict[str, Any]], prometheus: str, dsn: str
) -> None:
    broken = rows[: ORGANIZATIONS // 3]
    for row in broken:
        server.route(waba_path(row), graph_error(190, "Error validating access token", 401))
    wait_for(
        lambda: firing_with(prometheus, FLEET_ALERT, integration="whatsapp", reason="auth"),
        timeout=FIRE_DEADLINE_SECONDS,
        what=f"{FLEET_ALERT} firing for whatsapp/auth",
    )
    pages = firing(prometheus, FLEET_ALERT)  # one alert for the fleet, not one per shard
    assert len(pages) == 1, explain(prometheus)
    assert pages[0]["labels"]["severity"] == "page"
    # The platform's app reads the same from its own database, state changes included.
    with psycopg.connect(dsn) as connection:
        changed = connection.execute(
            "SELECT DISTINCT organization_id FROM integration_monitor.state_changes"
            " WHERE integration = 'whatsapp' AND current = 'error' AND reason = 'auth'"
        ).fetchall()
    assert sorted(o for (o,) in changed) == sorted(r["id"] for r in broken)
    serve_fleet(server, rows)
    wait_for(
        lambda: not firing(prometheus, FLEET_ALERT),
        timeout=FIRE_DEADLINE_SECONDS,
        what=f"{FLEET_ALERT} resolved",
    )


def _platform_page_once_per_integration(server: FakeServer, prometheus: str) -> None:
    server.route(WABA_PATH, graph_error(190, "Error validating access token", 401))
    found = wait_for(
        lambda: firing_with(prometheus, PLATFORM_ALERT, integration="whatsapp"),
        timeout=FIRE_DEADLINE_SECONDS,
        what=f"{PLATFORM_ALERT} for the platform's WhatsApp",
    )
    assert len(found) == 1, explain(prometheus)
