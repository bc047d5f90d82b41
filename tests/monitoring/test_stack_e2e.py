"""The whole monitoring stack, live: daemon, Prometheus with the shipped rules, Alertmanager
with the shipped routing, and every query of the shipped dashboard.

The daemon checks every second instead of every minute, so the rules are loaded 60 times
faster (rules_override): `for: 5m` waits 5 s, a `[5m]` window holds 5 checks.
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import httpx
import yaml

from tests.fakes.providers import WABA_PATH, graph_account, graph_error, provider_env
from tests.fakes.server import FakeServer
from tests.monitoring.grafana_dashboard import GLOBAL_VARIABLES, fill_variables, queries
from tests.monitoring.live_alertmanager import running_alertmanager
from tests.monitoring.live_prometheus import (
    alerts,
    api_get,
    firing,
    healthy_targets,
    instant_query,
    running_prometheus,
)
from tests.monitoring.promql_names import metric_names
from tests.monitoring.rules_override import write_fast_rule_files
from tests.monitoring.stack_files import (
    ALERTMANAGER_CONFIG,
    DASHBOARD,
    PROMETHEUS_CONFIG,
    PROMETHEUS_DIR,
    RULES_DIR,
    alert_rules,
    load_yaml,
    rule_groups,
)
from tests.support.daemon import Daemon, running_daemon, wait_for

JOB = "integration-monitor"
CHECK_INTERVAL_SECONDS = 1
SPEED_UP = 60 // CHECK_INTERVAL_SECONDS
# Deadlines, each several times what the sped-up rules need (`for:` plus a few scrapes).
FIRE_DEADLINE_SECONDS = 30.0
RESOLVE_DEADLINE_SECONDS = 20.0
SCRAPE_DEADLINE_SECONDS = 15.0
POLL_SECONDS = 0.2
# Dashboard panels that are empty only when something is broken: status, scrape health
# and check durations. Others (failures by reason, say) are rightly empty on a quiet day.
MUST_SHOW_DATA = ("up", "integration_status", "integration_overall_status", "duration")
T = TypeVar("T")


class Stack(NamedTuple):
    """Base URLs of the running Prometheus and Alertmanager, and where their logs are."""

    prometheus: str
    alertmanager: str
    workdir: Path


def shipped_rule(alertname: str) -> dict[str, Any]:
    """The shipped alerting rule called `alertname`."""
    (rule,) = [rule for rule in alert_rules() if rule["alert"] == alertname]
    return rule


def write_alertmanager_config(target: Path) -> Path:
    """The shipped configuration with silent receivers and second-long grouping waits.

    Routes, matchers, receivers' names and inhibit rules stay as shipped.
    """
    config = load_yaml(ALERTMANAGER_CONFIG)
    config["receivers"] = [{"name": receiver["name"]} for receiver in config["receivers"]]
    routes = [config["route"]]
    while routes:
        route = routes.pop()
        route.setdefault("group_wait", "1s")
        for key in ("group_wait", "group_interval"):
            if key in route:
                route[key] = "1s"
        routes.extend(route.get("routes", []))
    target.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return target


def write_prometheus_config(workdir: Path, daemon: Daemon, alertmanager_url: str) -> Path:
    """The shipped configuration, pointed at the test daemon and Alertmanager, every 1 s.

    The sped-up rule files sit where the shipped `rule_files` globs expect them, next to
    the written configuration.
    """
    write_fast_rule_files(RULES_DIR, workdir / RULES_DIR.relative_to(PROMETHEUS_DIR), SPEED_UP)
    config = load_yaml(PROMETHEUS_CONFIG)
    config["global"] = {
        "scrape_interval": f"{CHECK_INTERVAL_SECONDS}s",
        "scrape_timeout": f"{CHECK_INTERVAL_SECONDS}s",
        "evaluation_interval": f"{CHECK_INTERVAL_SECONDS}s",
    }
    (alertmanager,) = config["alerting"]["alertmanagers"]
    alertmanager["static_configs"] = [
        {"targets": [alertmanager_url.removeprefix("http://")]},
    ]
    (scrape,) = [job for job in config["scrape_configs"] if job["job_name"] == JOB]
    scrape["static_configs"] = [{"targets": [daemon.url.removeprefix("http://")]}]
    target = workdir / "prometheus.yml"
    target.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return target


def alertmanager_alerts(base_url: str, **labels: str) -> list[dict[str, Any]]:
    """The alerts Alertmanager lists (`GET /api/v2/alerts`: unresolved only) with `labels`."""
    listed = httpx.get(f"{base_url}/api/v2/alerts", timeout=5).json()
    return [
        alert for alert in listed if all(alert["labels"].get(k) == v for k, v in labels.items())
    ]


def wait_on_stack(condition: Callable[[], T | None], what: str, timeout: float, stack: Stack) -> T:
    """`wait_for`, failing with what Prometheus and Alertmanager hold and their logs."""
    try:
        return wait_for(condition, timeout=timeout, interval=POLL_SECONDS)
    except AssertionError:
        held = [
            f"Prometheus: {alert['labels']} {alert['state']}" for alert in alerts(stack.prometheus)
        ]
        held += [
            f"Alertmanager: {alert['labels']} {alert['status']['state']}"
            for alert in alertmanager_alerts(stack.alertmanager)
        ]
        logs = [
            f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
            for log in sorted(stack.workdir.glob("*/*.log"))
        ]
        raise AssertionError(
            "\n".join([f"no {what} within {timeout} s; alerts now:", *held, *logs])
        ) from None


def dashboard_values(instance: str) -> dict[str, str]:
    """What Grafana would put in for the dashboard's variables against this stack."""
    values = dict.fromkeys(GLOBAL_VARIABLES, "1m")
    values |= {"__range": "5m", "__range_s": "300", "__range_ms": "300000"}
    values |= {"__interval_ms": "60000", "datasource": "prometheus"}
    return values | {"job": JOB, "instance": instance}


def check_dashboard_queries(prometheus_url: str, instance: str) -> None:
    """Every dashboard query runs; the status, scrape and duration panels show data."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    failures = []
    for query in queries(dashboard):
        expr = fill_variables(query.expr, dashboard_values(instance))
        answer = instant_query(prometheus_url, expr)
        if answer.get("status") != "success":
            failures.append(f"{query.where}: {answer.get('error')}\n  {expr}")
            continue
        must_show = query.where.startswith("panel") and any(
            wanted in name for name in metric_names(expr) for wanted in MUST_SHOW_DATA
        )
        if must_show and not answer["data"]["result"]:
            failures.append(f"{query.where}: no data\n  {expr}")
    assert not failures, "dashboard queries that fail on live data:\n" + "\n".join(failures)


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
    (tmp_path / "am").mkdir()
    (tmp_path / "prom").mkdir()
    am_config = write_alertmanager_config(tmp_path / "alertmanager.yml")
    with (
        running_daemon(env) as daemon,
        running_alertmanager(am_config, tmp_path / "am") as am_url,
    ):
        prom_config = write_prometheus_config(tmp_path / "prom", daemon, am_url)
        with running_prometheus(prom_config, tmp_path / "prom") as prom_url:
            stack = Stack(prom_url, am_url, tmp_path)
            loaded = api_get(prom_url, "rules")["data"]["groups"]
            assert len(loaded) == len(rule_groups()), "Prometheus did not load every rule group"
            wait_on_stack(
                lambda: healthy_targets(prom_url, JOB),
                "successful scrape of the daemon",
                SCRAPE_DEADLINE_SECONDS,
                stack,
            )

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

            check_dashboard_queries(prom_url, daemon.url.removeprefix("http://"))

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
