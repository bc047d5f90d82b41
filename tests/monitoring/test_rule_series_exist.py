"""The series the alert rules read, and those their promtool unit tests feed in, are what the
real daemon exports, with the same label names: the platform's from its first scrape on, the
fleet's from a daemon in fleet mode with the status sink on.

A unit test that feeds a series the daemon does not export proves nothing about production:
the staleness alert was tested on a timestamp "exported as 0 before the first result" that
the daemon did not export until its first cycle ended.
"""

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.providers import (
    CUSTOMER_PATH,
    REST_ROOT,
    TABLE_PATH,
    WABA_PATH,
    graph_error,
    provider_env,
    serve_healthy_providers,
)
from tests.fakes.server import FakeServer, Reply
from tests.fleet.organizations_fake import waba_path
from tests.monitoring.fleet_stack import fleet_stack_env, migrate, serve_fleet, sink_database
from tests.monitoring.promql_names import (
    PROMETHEUS_METRICS,
    fleet_series_names,
    known_series_names,
    metric_names,
    selector_labels,
)
from tests.monitoring.stack_files import load_yaml, recording_rule_names, rule_groups
from tests.monitoring.stack_files import rule_test_files as promtool_test_files
from tests.support.daemon import Daemon, running_daemon, wait_for
from tests.support.postgres import PostgresServer

# Added by Prometheus to every series it scrapes, never by the daemon.
TARGET_LABELS = frozenset({"job", "instance"})
# Long enough that no check ends while the test scrapes.
HANGING = {"MONITOR_INTERVAL_SECONDS": "120", "MONITOR_CHECK_TIMEOUT_SECONDS": "60"}
LabelNamesBySeries = dict[str, set[frozenset[str]]]


@pytest.fixture(scope="module")
def exported_before_first_cycle() -> Iterator[LabelNamesBySeries]:
    """Series name -> label-name sets on /metrics of a daemon whose every check hangs."""
    server = FakeServer().start()
    for path in (WABA_PATH, CUSTOMER_PATH, "/v1/balance", "/domains", REST_ROOT, TABLE_PATH):
        server.route(path, Reply(hang=True))
    try:
        with running_daemon({**provider_env(server), **HANGING}, wait_ready=False) as daemon:
            text = wait_for(lambda: _metrics_text(daemon), timeout=20)
            assert daemon.get("/readyz").status_code == 503, "the first cycle ended too soon"
            yield _label_names(text)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def exported_in_fleet_mode(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabelNamesBySeries]:
    """Series name -> label-name sets of a fleet daemon with the sink on and one organization
    in error, so that the opt-in per-organization series is there too."""
    server = FakeServer().start()
    serve_healthy_providers(server)
    rows, organizations = serve_fleet(server, tmp_path_factory.mktemp("fleet"))
    server.route(waba_path(rows[0]), graph_error(190, "Error validating access token"))
    fast = {"MONITOR_ORGANIZATION_INTERVAL_SECONDS": "2", "MONITOR_CHECK_TIMEOUT_SECONDS": "1"}
    try:
        with sink_database(postgres) as dsn:
            env = fleet_stack_env(server, organizations, dsn, **fast)
            migrate(env)
            with running_daemon(env) as daemon:
                yield _label_names(wait_for(lambda: _with_organization_error(daemon), 20))
    finally:
        server.stop()


def _with_organization_error(daemon: Daemon) -> str | None:
    text = _metrics_text(daemon)
    return text if text and "\nintegration_organization_error{" in text else None


def _exported(
    name: str, platform: LabelNamesBySeries, fleet: LabelNamesBySeries
) -> set[frozenset[str]] | None:
    """The label sets `name` is exported with, by the daemon in the mode that exports it."""
    return (fleet if name in fleet_series_names() else platform).get(name)


def _metrics_text(daemon: Daemon) -> str | None:
    try:
        response = daemon.get("/metrics")
    except httpx.TransportError:
        return None
    return response.text if response.status_code == 200 else None


def _label_names(exposition: str) -> LabelNamesBySeries:
    exported: LabelNamesBySeries = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            exported.setdefault(sample.name, set()).add(frozenset(sample.labels))
    return exported


def _from_the_daemon(name: str) -> bool:
    return name not in PROMETHEUS_METRICS and name not in recording_rule_names()


def _input_series() -> dict[str, frozenset[str]]:
    """Each series a unit test feeds in -> the target labels its test adds beyond job and
    instance: a label that a series of the test carries as `exported_<name>` (Prometheus
    renames the daemon's own label so when a target label takes its name)."""
    found: dict[str, frozenset[str]] = {}
    for path in promtool_test_files():
        for test in load_yaml(path)["tests"]:
            texts = [series["series"] for series in test.get("input_series", [])]
            labels = {label for text in texts for label in selector_labels(text)[0][1]}
            renamed = frozenset(
                label.removeprefix("exported_") for label in labels if label.startswith("exported_")
            )
            found |= dict.fromkeys(texts, renamed)
    return found


def _daemon_labels(labels: frozenset[str], target_labels: frozenset[str]) -> frozenset[str]:
    """The label names the daemon itself exported, under their own names."""
    own = labels - TARGET_LABELS - target_labels
    return frozenset(label.removeprefix("exported_") for label in own)


def _rules() -> list[dict[str, str]]:
    return [rule for group in rule_groups() for rule in group["rules"]]


def _rule_expressions() -> list[str]:
    return [rule["expr"] for rule in _rules()]


def _rule_ids() -> list[str]:
    return [rule.get("alert") or rule["record"] for rule in _rules()]


INPUT_SERIES = _input_series()


@pytest.mark.parametrize("series", sorted(INPUT_SERIES), ids=str)
def test_promtool_input_series__exist_on_the_daemon_from_its_first_scrape(
    exported_before_first_cycle: LabelNamesBySeries,
    exported_in_fleet_mode: LabelNamesBySeries,
    series: str,
) -> None:
    """Every series a rule unit test feeds in is one the daemon exports, with those labels
    (under their own names, where a test adds a target label that renames one)."""
    [(name, labels)] = selector_labels(series)
    if not _from_the_daemon(name):
        return
    exported = _exported(name, exported_before_first_cycle, exported_in_fleet_mode)
    assert exported, f"{name} is not on /metrics (platform: before a result; fleet: running)"
    assert _daemon_labels(labels, INPUT_SERIES[series]) in exported


@pytest.mark.parametrize("expr", _rule_expressions(), ids=_rule_ids())
def test_rule_expression__reads_series_the_daemon_exports_from_its_first_scrape(
    exported_before_first_cycle: LabelNamesBySeries,
    exported_in_fleet_mode: LabelNamesBySeries,
    expr: str,
) -> None:
    """Every metric a rule reads is on /metrics with the labels it matches: the platform's
    before any result, the fleet's on a fleet daemon with the sink on."""
    for name in {name for name in metric_names(expr) if _from_the_daemon(name)}:
        assert _exported(name, exported_before_first_cycle, exported_in_fleet_mode), name
    for name, labels in selector_labels(expr):
        if _from_the_daemon(name):
            exported = _exported(name, exported_before_first_cycle, exported_in_fleet_mode)
            assert exported is not None, name
            assert any(labels - TARGET_LABELS <= each for each in exported), (name, labels)


def test_known_metric_names__are_all_exported_by_the_daemon(
    exported_before_first_cycle: LabelNamesBySeries,
    exported_in_fleet_mode: LabelNamesBySeries,
) -> None:
    """The names rules and dashboard may read are the daemon's: a renamed metric fails here.
    (A platform series may appear only after a result: the fleet daemon has results.)"""
    fleet_only = fleet_series_names()
    missing = {
        name
        for name in known_series_names(set()) - PROMETHEUS_METRICS
        if name not in exported_in_fleet_mode
        and (name in fleet_only or name not in exported_before_first_cycle)
    }
    assert missing == set()
