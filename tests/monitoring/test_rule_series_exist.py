"""The series the alert rules read, and those their promtool unit tests feed in, are what the
real daemon exports, with the same label names, from its first scrape on.

A unit test that feeds a series the daemon does not export proves nothing about production:
the staleness alert was tested on a timestamp "exported as 0 before the first result" that
the daemon did not export until its first cycle ended.
"""

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.providers import CUSTOMER_PATH, REST_ROOT, TABLE_PATH, WABA_PATH, provider_env
from tests.fakes.server import FakeServer, Reply
from tests.monitoring.promql_names import PROMETHEUS_METRICS, metric_names, selector_labels
from tests.monitoring.stack_files import load_yaml, recording_rule_names, rule_groups
from tests.monitoring.stack_files import rule_test_files as promtool_test_files
from tests.support.daemon import Daemon, running_daemon, wait_for

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


def _input_series() -> list[str]:
    return [
        series["series"]
        for path in promtool_test_files()
        for test in load_yaml(path)["tests"]
        for series in test.get("input_series", [])
    ]


def _rules() -> list[dict[str, str]]:
    return [rule for group in rule_groups() for rule in group["rules"]]


def _rule_expressions() -> list[str]:
    return [rule["expr"] for rule in _rules()]


def _rule_ids() -> list[str]:
    return [rule.get("alert") or rule["record"] for rule in _rules()]


@pytest.mark.parametrize("series", sorted(set(_input_series())), ids=str)
def test_promtool_input_series__exist_on_the_daemon_from_its_first_scrape(
    exported_before_first_cycle: LabelNamesBySeries, series: str
) -> None:
    """Every series a rule unit test feeds in is one the daemon exports, with those labels."""
    [(name, labels)] = selector_labels(series)
    if not _from_the_daemon(name):
        return
    assert name in exported_before_first_cycle, f"{name} is not on /metrics before a result"
    assert labels - TARGET_LABELS in exported_before_first_cycle[name]


@pytest.mark.parametrize("expr", _rule_expressions(), ids=_rule_ids())
def test_rule_expression__reads_series_the_daemon_exports_from_its_first_scrape(
    exported_before_first_cycle: LabelNamesBySeries, expr: str
) -> None:
    """Every metric a rule reads is on /metrics before any result, with the labels it matches."""
    names = {name for name in metric_names(expr) if _from_the_daemon(name)}
    assert names - set(exported_before_first_cycle) == set()
    for name, labels in selector_labels(expr):
        if _from_the_daemon(name):
            exported = exported_before_first_cycle[name]
            assert any(labels - TARGET_LABELS <= each for each in exported), (name, labels)
