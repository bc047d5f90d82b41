"""The whole monitoring stack, live, against two shards in fleet mode with the status sink on:
every dashboard panel fills, an incident seen by both shards pages once, and a shard that
goes away pages as missing.

Both daemons check the platform's integrations every second and each organization every
second; the rules are sped up 60 times (live_stack).
"""

from pathlib import Path
from typing import Any

from tests.fakes.providers import WABA_PATH, graph_error
from tests.fakes.server import FakeServer
from tests.fleet.organizations_fake import waba_path
from tests.monitoring.fleet_stack import (
    ORGANIZATIONS,
    fleet_stack_env,
    migrate,
    serve_fleet,
    sink_database,
)
from tests.monitoring.grafana_dashboard import Query
from tests.monitoring.live_prometheus import firing, instant_query
from tests.monitoring.live_stack import (
    CHECK_INTERVAL_SECONDS,
    FIRE_DEADLINE_SECONDS,
    JOB,
    RIGHTLY_EMPTY,
    Stack,
    alertmanager_alerts,
    check_dashboard_queries,
    instance,
    panel_title,
    running_stack,
    wait_on_stack,
)
from tests.support.daemon import running_daemon
from tests.support.postgres import PostgresServer

EXPIRED = "Error validating access token: Session has expired"
FAST = {
    "MONITOR_INTERVAL_SECONDS": str(CHECK_INTERVAL_SECONDS),
    "MONITOR_CHECK_TIMEOUT_SECONDS": "0.5",
    "MONITOR_ORGANIZATION_INTERVAL_SECONDS": str(CHECK_INTERVAL_SECONDS),
    "MONITOR_ORGANIZATIONS_RELOAD_SECONDS": "5",
}


def shows_fleet_data(query: Query) -> bool:
    """In fleet mode with the sink every panel has data, but those that show failures only."""
    return query.where.startswith("panel") and panel_title(query) not in RIGHTLY_EMPTY


def vector(stack: Stack, expr: str) -> dict[str, float]:
    """An instant query's answer as `{integration: value}`."""
    answer = instant_query(stack.prometheus, expr)
    assert answer["status"] == "success", answer
    return {
        sample["metric"].get("integration", ""): float(sample["value"][1])
        for sample in answer["data"]["result"]
    }


def active(stack: Stack, **labels: str) -> list[dict[str, Any]]:
    """Alerts Alertmanager holds with `labels`, not inhibited or silenced."""
    return [
        alert
        for alert in alertmanager_alerts(stack.alertmanager, **labels)
        if alert["status"]["state"] == "active"
    ]


def test_fleet_stack__two_shards_fill_the_dashboard_page_once_and_miss_a_shard(
    fake_server: FakeServer, postgres: PostgresServer, tmp_path: Path
) -> None:
    """Two shards show as one fleet, a token expiring on both pages once per alert, and a
    stopped shard pages as missing."""
    rows, organizations = serve_fleet(fake_server, tmp_path)
    with sink_database(postgres) as dsn:
        env = fleet_stack_env(fake_server, organizations, dsn, **FAST)
        migrate(env)
        with (
            running_daemon(env | {"MONITOR_SHARD": "0/2"}) as first,
            running_daemon(env | {"MONITOR_SHARD": "1/2"}) as second,
            running_stack(tmp_path, [first, second]) as stack,
        ):
            # The shards' organizations add up to the whole fleet, one share per integration.
            every_result = {"whatsapp": ORGANIZATIONS, "stripe": ORGANIZATIONS}
            wait_on_stack(
                lambda: (
                    vector(
                        stack,
                        f'sum by (integration) (integration_organizations{{job="{JOB}",'
                        f' status=~"connected|error"}})',
                    )
                    == every_result
                ),
                "a result for every organization over both shards",
                FIRE_DEADLINE_SECONDS,
                stack,
            )
            wait_on_stack(
                lambda: (
                    vector(stack, "integration:organizations_in_error:ratio")
                    == {"whatsapp": 0.0, "stripe": 0.0}
                ),
                "the recorded share in error, one series per integration",
                FIRE_DEADLINE_SECONDS,
                stack,
            )
            wait_on_stack(
                lambda: vector(stack, "sum(integration_monitor_sink_rows_written_total)").get(
                    "", 0.0
                ),
                "rows written by the status sink",
                FIRE_DEADLINE_SECONDS,
                stack,
            )

            # The platform's token and every organization's expire: both shards see it.
            fake_server.route(WABA_PATH, graph_error(190, EXPIRED))
            for row in rows:
                fake_server.route(waba_path(row), graph_error(190, EXPIRED))
            platform = {"alertname": "IntegrationError", "integration": "whatsapp"}
            fleet = {"alertname": "OrganizationsFailingByReason", "integration": "whatsapp"}
            (paged,) = wait_on_stack(
                lambda: active(stack, **platform),
                "IntegrationError for whatsapp in Alertmanager",
                FIRE_DEADLINE_SECONDS,
                stack,
            )
            assert "instance" not in paged["labels"], "one page for the two shards"
            (fleet_page,) = wait_on_stack(
                lambda: active(stack, **fleet),
                "OrganizationsFailingByReason for whatsapp in Alertmanager",
                FIRE_DEADLINE_SECONDS,
                stack,
            )
            assert fleet_page["labels"]["reason"] == "auth"
            assert {r["name"] for r in fleet_page["receivers"]} == {"page"}
            assert len(firing(stack.prometheus, "IntegrationError")) == 1

            # Fleet, sink, shard and phone-number panels all have data by now.
            check_dashboard_queries(
                stack.prometheus, [instance(first), instance(second)], shows_fleet_data
            )

            # The second shard stops: its organizations are watched by nobody.
            assert second.terminate() == 0, second.stderr()
            (missing,) = wait_on_stack(
                lambda: active(stack, alertname="MonitorShardMissing"),
                "MonitorShardMissing in Alertmanager",
                FIRE_DEADLINE_SECONDS,
                stack,
            )
            assert {r["name"] for r in missing["receivers"]} == {"page"}
            (down,) = firing(stack.prometheus, "IntegrationMonitorDown")
            assert down["labels"]["instance"] == instance(second)
