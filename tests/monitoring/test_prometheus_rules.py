"""Rule files: labels, annotations, runbook links, exclusions, metrics and test coverage."""

import re
from typing import Any

import pytest

from tests.monitoring.promql_names import known_series_names, metric_names
from tests.monitoring.stack_files import (
    ALERTS_RUNBOOK,
    MONITORING_STACK_DOC,
    alert_rules,
    load_yaml,
    recording_rule_names,
    rule_groups,
    rule_test_files,
)

ANNOTATION_QUERY = re.compile(r"printf `([^`]*)`")

ALERTS = alert_rules()
ALERT_IDS = [rule["alert"] for rule in ALERTS]
NOT_CONFIGURED_EXCLUSION = re.compile(
    r'unless on \(job, instance, integration\)\s*\(integration_status\{status="not_configured"\}'
    r" == 1\)\s*$"
)
# Alerts on these metrics only have no integration label: not_configured cannot apply.
MONITOR_LEVEL_METRICS = {"up", "integration_overall_status"}
PER_INTEGRATION_ALERTS = [r for r in ALERTS if not metric_names(r["expr"]) <= MONITOR_LEVEL_METRICS]


def github_anchors(markdown: str) -> set[str]:
    """Return the anchors GitHub gives the headings of a Markdown text."""
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", markdown, flags=re.MULTILINE)
    return {
        re.sub(r"[^\w\- ]", "", heading).strip().lower().replace(" ", "-") for heading in headings
    }


def alert_tests() -> list[dict[str, Any]]:
    """Every alert_rule_test entry of every promtool unit test file."""
    return [
        case
        for path in rule_test_files()
        for group in load_yaml(path)["tests"]
        for case in group.get("alert_rule_test", [])
    ]


@pytest.mark.parametrize("rule", ALERTS, ids=ALERT_IDS)
def test_alert_rule__has_severity_page_or_ticket(rule: dict[str, Any]) -> None:
    """Alertmanager routes every alert either to the pager or to the ticket queue."""
    assert rule.get("labels", {}).get("severity") in {"page", "ticket"}


@pytest.mark.parametrize("rule", ALERTS, ids=ALERT_IDS)
def test_alert_rule__has_summary_description_and_runbook(rule: dict[str, Any]) -> None:
    """Every notification says what broke, in detail, and where the runbook is."""
    annotations = rule.get("annotations", {})
    for name in ("summary", "description", "runbook_url"):
        assert annotations.get(name, "").strip(), f"{rule['alert']} has no {name}"


@pytest.mark.parametrize("rule", ALERTS, ids=ALERT_IDS)
def test_alert_rule__runbook_url_points_at_its_own_section(rule: dict[str, Any]) -> None:
    """Every runbook link has one form and opens the section of that very alert."""
    assert rule["annotations"]["runbook_url"] == f"docs/alerts.md#{rule['alert'].lower()}"


def test_alert_rules__runbook_anchors_exist_in_alerts_doc() -> None:
    """No runbook link lands on a missing section of docs/alerts.md."""
    anchors = github_anchors(ALERTS_RUNBOOK.read_text(encoding="utf-8"))
    linked = {rule["annotations"]["runbook_url"].partition("#")[2] for rule in ALERTS}
    assert linked - anchors == set()


def test_alert_rules__only_monitor_level_alerts_lack_an_integration() -> None:
    """Only the alerts about the monitor as a whole are exempt from the exclusion below."""
    exempt = set(ALERT_IDS) - {rule["alert"] for rule in PER_INTEGRATION_ALERTS}
    assert exempt == {"IntegrationMonitorDown", "IntegrationMonitorAbsent", "IntegrationsDegraded"}


@pytest.mark.parametrize("rule", PER_INTEGRATION_ALERTS, ids=lambda rule: rule["alert"])
def test_alert_rule__excludes_not_configured_integrations(rule: dict[str, Any]) -> None:
    """An integration without credentials can never page, whatever else its series say."""
    assert NOT_CONFIGURED_EXCLUSION.search(rule["expr"]), rule["expr"]


@pytest.mark.parametrize("rule", ALERTS, ids=ALERT_IDS)
def test_alert_rule__reads_only_known_metrics(rule: dict[str, Any]) -> None:
    """An alert never waits on a metric the daemon does not export."""
    known = known_series_names(recording_rule_names())
    assert metric_names(rule["expr"]) - known == set()


@pytest.mark.parametrize("rule", ALERTS, ids=ALERT_IDS)
def test_alert_rule__annotation_queries_read_only_known_metrics(rule: dict[str, Any]) -> None:
    """The reasons and integrations a notification lists come from real series."""
    texts = "\n".join(rule["annotations"].values())
    names = {name for query in ANNOTATION_QUERY.findall(texts) for name in metric_names(query)}
    assert names - known_series_names(recording_rule_names()) == set()


def test_recording_rules__read_only_spec_metrics() -> None:
    """The recorded availability and latency come from metrics the daemon exports."""
    exprs = [r["expr"] for g in rule_groups() for r in g["rules"] if "record" in r]
    assert exprs
    assert set().union(*map(metric_names, exprs)) - known_series_names(set()) == set()


def test_rule_unit_tests__cover_exactly_the_shipped_alerts() -> None:
    """No alert ships untested, and no unit test checks an alert that no longer exists."""
    tested = {case["alertname"] for case in alert_tests()}
    assert tested == set(ALERT_IDS)


@pytest.mark.parametrize("alertname", ALERT_IDS)
def test_rule_unit_tests__see_each_alert_fire_and_stay_silent(alertname: str) -> None:
    """Each alert is proven to fire on bad data and to stay quiet on good data."""
    cases = [case for case in alert_tests() if case["alertname"] == alertname]
    assert any(case.get("exp_alerts") for case in cases), f"{alertname} never fires"
    assert any(not case.get("exp_alerts") for case in cases), f"{alertname} never stays silent"


@pytest.mark.parametrize("path", rule_test_files(), ids=lambda path: path.name)
def test_rule_unit_tests__evaluate_recording_rules_before_alerts(path: Any) -> None:
    """Unit tests evaluate groups in a fixed order instead of promtool's random one."""
    order = load_yaml(path).get("group_eval_order", [])
    groups = [group["name"] for group in rule_groups()]
    assert sorted(order) == sorted(groups), "group_eval_order must list every rule group"
    recording = [g["name"] for g in rule_groups() if all("record" in r for r in g["rules"])]
    assert order[: len(recording)] == recording


def test_monitoring_stack_doc__lists_every_alert() -> None:
    """The README's alert table explains every alert an operator can receive."""
    text = MONITORING_STACK_DOC.read_text(encoding="utf-8")
    assert [name for name in ALERT_IDS if f"| `{name}` |" not in text] == []
