"""The whole monitoring stack, live, against a daemon in platform mode: daemon, Prometheus
with the shipped rules, Alertmanager with the shipped routing, and every query of the shipped
dashboard (fleet mode: test_fleet_stack_e2e.py).

The daemon checks every second instead of every minute, so the rules are loaded 60 times
faster (rules_override): `for: 5m` waits 5 s, a `[5m]` window holds 5 checks.
"""

from pathlib import Path

from tests.fakes.providers import WABA_PATH, graph_account, graph_error, provider_env
from tests.fakes.server import FakeServer
from tests.monitoring.grafana_dashboard import Query
from tests.monitoring.live_prometheus import firing
from tests.monitoring.live_stack import (
    CHECK_INTERVAL_SECONDS,
    FIRE_DEADLINE_SECONDS,
    JOB,
    RESOLVE_DEADLINE_SECONDS,
    RIGHTLY_EMPTY,
    alertmanager_alerts,
    check_dashboard_queries,
    instance,
    panel_title,
    running_stack,
    shipped_rule,
    wait_on_stack,
)
from tests.monitoring.promql_names import fleet_series_names, metric_names
from tests.support.daemon import running_daemon


def shows_platform_data(query: Query) -> bool:
    """A panel that a daemon without organizations fills: every one but the fleet's and
    those that show failures only."""
    if not query.where.startswith("panel") or panel_title(query) in RIGHTLY_EMPTY:
        return False
    return not metric_names(query.expr) & fleet_series_names()


def test_monitoring_stack__pages_on_a_broken_integration_and_a_stopped_daemon(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """An expired WhatsApp token pages and clears, the dashboard shows it, a dead daemon pages."""
    error_rule = shipped_rule("IntegrationError")
    down_rule = shipped_rule("IntegrationMonitorDown")
    whatsapp_error = {"alertname": "IntegrationError", "integration": "whatsapp"}
    env = provider_env(fake_server) | {
        "MONITOR_INTERVAL_SECONDS": str(CHECK_INTERVAL_SECONDS),
        "MONITOR_CHECK_TIMEOUT_SECONDS": "0.5",
    }
    with running_daemon(env) as daemon, running_stack(tmp_path, [daemon]) as stack:
        prom_url, am_url = stack.prometheus, stack.alertmanager
        # WhatsApp's token expires: the shipped page reaches Alertmanager.
        fake_server.route(WABA_PATH, graph_error(190, "Error validating access token"))
        (paged,) = wait_on_stack(
            lambda: alertmanager_alerts(am_url, **whatsapp_error),
            "IntegrationError for whatsapp in Alertmanager",
            FIRE_DEADLINE_SECONDS,
            stack,
        )
        assert paged["labels"]["severity"] == error_rule["labels"]["severity"]
        assert paged["labels"]["job"] == JOB
        assert paged["status"]["state"] == "active", paged["status"]
        assert {r["name"] for r in paged["receivers"]} == {"page"}

        # The token is renewed: the alert resolves in Prometheus and in Alertmanager.
        fake_server.route(WABA_PATH, graph_account())

        def resolved() -> bool:
            still_firing = [
                alert
                for alert in firing(prom_url, "IntegrationError")
                if alert["labels"].get("integration") == "whatsapp"
            ]
            active = [
                alert
                for alert in alertmanager_alerts(am_url, **whatsapp_error)
                if alert["status"]["state"] == "active"
            ]
            return not still_firing and not active

        wait_on_stack(resolved, "resolved IntegrationError", RESOLVE_DEADLINE_SECONDS, stack)

        check_dashboard_queries(prom_url, [instance(daemon)], shows_platform_data)

        # The daemon stops: the monitor-down page fires with the shipped severity.
        assert daemon.terminate() == 0, daemon.stderr()
        (down,) = wait_on_stack(
            lambda: firing(prom_url, "IntegrationMonitorDown"),
            "firing IntegrationMonitorDown in Prometheus",
            FIRE_DEADLINE_SECONDS,
            stack,
        )
        assert down["labels"]["severity"] == down_rule["labels"]["severity"]
        assert down["labels"]["job"] == JOB
        (page,) = wait_on_stack(
            lambda: alertmanager_alerts(am_url, alertname="IntegrationMonitorDown"),
            "IntegrationMonitorDown in Alertmanager",
            FIRE_DEADLINE_SECONDS,
            stack,
        )
        assert page["status"]["state"] == "active", page["status"]
        assert {r["name"] for r in page["receivers"]} == {"page"}
