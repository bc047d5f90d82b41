"""The whole monitoring stack, live, around daemons a test started: Prometheus with the shipped
rules sped up, Alertmanager with the shipped routing, and the shipped dashboard's queries.

The daemons check every second instead of every minute, so the rules are loaded 60 times
faster (rules_override): `for: 5m` waits 5 s, a `[5m]` window holds 5 checks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import httpx
import yaml

from tests.monitoring.grafana_dashboard import GLOBAL_VARIABLES, Query, fill_variables, queries
from tests.monitoring.live_alertmanager import running_alertmanager
from tests.monitoring.live_prometheus import (
    alerts,
    api_get,
    healthy_targets,
    instant_query,
    running_prometheus,
)
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
from tests.support.daemon import Daemon, wait_for

JOB = "integration-monitor"
CHECK_INTERVAL_SECONDS = 1
SPEED_UP = 60 // CHECK_INTERVAL_SECONDS
# Deadlines, each several times what the sped-up rules need (`for:` plus a few scrapes).
FIRE_DEADLINE_SECONDS = 30.0
RESOLVE_DEADLINE_SECONDS = 20.0
SCRAPE_DEADLINE_SECONDS = 15.0
POLL_SECONDS = 0.2
# Panels rightly empty on a quiet day: they show failures only (`> 0`).
RIGHTLY_EMPTY = frozenset({"Failed checks by reason", "Organizations in error by reason"})
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


def write_prometheus_config(
    workdir: Path, daemons: Sequence[Daemon], alertmanager_url: str
) -> Path:
    """The shipped configuration, pointed at the test daemons and Alertmanager, every 1 s.

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
    scrape["static_configs"] = [{"targets": [instance(daemon) for daemon in daemons]}]
    target = workdir / "prometheus.yml"
    target.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return target


def instance(daemon: Daemon) -> str:
    """The `instance` label Prometheus gives the daemon's target."""
    return daemon.url.removeprefix("http://")


@contextmanager
def running_stack(workdir: Path, daemons: Sequence[Daemon]) -> Iterator[Stack]:
    """Alertmanager and Prometheus with the shipped files, once every daemon is scraped."""
    (workdir / "am").mkdir()
    (workdir / "prom").mkdir()
    am_config = write_alertmanager_config(workdir / "alertmanager.yml")
    with running_alertmanager(am_config, workdir / "am") as am_url:
        prom_config = write_prometheus_config(workdir / "prom", daemons, am_url)
        with running_prometheus(prom_config, workdir / "prom") as prom_url:
            stack = Stack(prom_url, am_url, workdir)
            loaded = api_get(prom_url, "rules")["data"]["groups"]
            assert len(loaded) == len(rule_groups()), "Prometheus did not load every rule group"
            wait_on_stack(
                lambda: len(healthy_targets(prom_url, JOB)) == len(daemons),
                "successful scrapes of every daemon",
                SCRAPE_DEADLINE_SECONDS,
                stack,
            )
            yield stack


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


def dashboard_values(instances: Sequence[str]) -> dict[str, str]:
    """What Grafana would put in for the dashboard's variables against this stack."""
    values = dict.fromkeys(GLOBAL_VARIABLES, "1m")
    values |= {"__range": "5m", "__range_s": "300", "__range_ms": "300000"}
    values |= {"__interval_ms": "60000", "datasource": "prometheus"}
    return values | {"job": JOB, "instance": "|".join(instances)}


def panel_title(query: Query) -> str:
    """The title of the panel a query belongs to (`panel <id> '<title>' <refId>`)."""
    return query.where.split("'")[1] if query.where.startswith("panel") else ""


def check_dashboard_queries(
    prometheus_url: str, instances: Sequence[str], must_show: Callable[[Query], bool]
) -> None:
    """Every dashboard query runs on live data; those `must_show` picks return some."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    failures = []
    for query in queries(dashboard):
        expr = fill_variables(query.expr, dashboard_values(instances))
        answer = instant_query(prometheus_url, expr)
        if answer.get("status") != "success":
            failures.append(f"{query.where}: {answer.get('error')}\n  {expr}")
        elif must_show(query) and not answer["data"]["result"]:
            failures.append(f"{query.where}: no data\n  {expr}")
    assert not failures, "dashboard queries that fail on live data:\n" + "\n".join(failures)
