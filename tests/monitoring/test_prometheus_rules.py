"""Rule files: labels, annotations, runbook links, exclusions, metrics and test coverage."""

import re
from typing import Any

import pytest

from monitor.checks.base import Reason
from tests.monitoring.promql_names import (
    REPLICA_COPIES,
    adds_up_replicas,
    known_series_names,
    metric_names,
)
from tests.monitoring.stack_files import (
    ALERTS_RUNBOOK,
    MONITORING_STACK_DOC,
    RULES_DIR,
    alert_rules,
    load_yaml,
    recording_rule_names,
    rule_groups,
    rule_test_files,
)

ANNOTATION_QUERY = re.compile(r"printf `([^`]*)`")

ALERTS = alert_rules()
ALERT_IDS = [rule["alert"] for rule in ALERTS]
# The two forms of the not_configured exclusion: per integration, and for the WhatsApp-only
# phone-number metrics, which have no integration label.
NOT_CONFIGURED_EXCLUSION = re.compile(
    r"unless on \(job, instance(?:, integration)?\)\s*"
    r'\(integration_status\{(?:integration="whatsapp", )?status="not_configured"\} == 1\)\s*$'
)
# The platform's per-integration series (and what is recorded from them): an integration
# without credentials reports not_configured in them, which must never page.
PLATFORM_SERIES = frozenset(
    {
        "integration_up",
        "integration_status",
        "integration_checks_total",
        "integration_check_failures_total",
        "integration_check_retries_total",
        "integration_check_duration_seconds_bucket",
        "integration_last_check_timestamp_seconds",
        "integration_last_success_timestamp_seconds",
        "integration_state_changes_total",
        "integration_whatsapp_phone_numbers",
        "integration_whatsapp_phone_numbers_sendable",
    }
)
# Alerts about one scrape target: one alert per replica is what they mean.
PER_TARGET_ALERTS = {"IntegrationMonitorDown", "IntegrationMonitorAbsent"}
# An aggregation that folds the replicas of one deployment into one series.
REPLICA_AGGREGATION = re.compile(r"\b(?:sum|min|max|count|avg)\s+without\s*\(([^()]*)\)\s*\(")
REPLICA_LABELS = frozenset({"instance", "pod"})


def reads_platform_series(expr: str) -> bool:
    """Whether an expression reads a platform per-integration series or a recording of one."""
    names = metric_names(expr)
    return bool(names & PLATFORM_SERIES) or any(n.startswith("integration:check_") for n in names)


def replica_aggregations(expr: str) -> list[tuple[int, int]]:
    """(start, end) of each outermost aggregation over replicas: from its name to its `)`."""
    expr = re.sub(r"#[^\n]*", "", expr)
    spans: list[tuple[int, int]] = []
    for match in REPLICA_AGGREGATION.finditer(expr):
        labels = {label.strip() for label in match.group(1).split(",")}
        if not labels >= REPLICA_LABELS or (spans and match.start() < spans[-1][1]):
            continue
        depth = 1
        for end in range(match.end(), len(expr)):
            depth += {"(": 1, ")": -1}.get(expr[end], 0)
            if depth == 0:
                spans.append((match.start(), end + 1))
                break
    return spans


def argument(expr: str, span: tuple[int, int]) -> str:
    """The argument of the aggregation at `span`, without its parentheses."""
    text = re.sub(r"#[^\n]*", "", expr)[span[0] : span[1]]
    return text[REPLICA_AGGREGATION.match(text).end() : -1]  # type: ignore[union-attr]


def outside_replica_aggregations(expr: str) -> str:
    """The expression with every aggregation over replicas blanked out."""
    text = re.sub(r"#[^\n]*", "", expr)
    for start, end in reversed(replica_aggregations(text)):
        text = text[:start] + " " + text[end:]
    return text


def replica_free_recordings() -> set[str]:
    """Recorded series that already hold one series per deployment, not per replica."""
    return {
        rule["record"]
        for group in rule_groups()
        for rule in group["rules"]
        if "record" in rule and not metric_names(outside_replica_aggregations(rule["expr"]))
    }


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


@pytest.mark.parametrize("rule", ALERTS, ids=ALERT_IDS)
def test_alert_rule__fires_once_per_deployment_not_per_replica(rule: dict[str, Any]) -> None:
    """With n shards, each running the platform checks, an incident still alerts once."""
    if rule["alert"] in PER_TARGET_ALERTS:
        return
    left = metric_names(outside_replica_aggregations(rule["expr"]))
    assert left - replica_free_recordings() == set(), rule["expr"]


@pytest.mark.parametrize(
    "rule",
    [rule for rule in ALERTS if reads_platform_series(rule["expr"])],
    ids=lambda rule: rule["alert"],
)
def test_alert_rule__excludes_not_configured_integrations(rule: dict[str, Any]) -> None:
    """An integration without credentials can never page, on any replica, whatever else its
    series say."""
    spans = replica_aggregations(rule["expr"])
    assert spans, rule["expr"]
    for span in spans:
        each = argument(rule["expr"], span)
        if reads_platform_series(each):
            assert NOT_CONFIGURED_EXCLUSION.search(each), each


def test_alert_rules__only_monitor_and_fleet_alerts_skip_the_exclusion() -> None:
    """Every alert on the platform's integrations goes through the not_configured check."""
    exempt = {rule["alert"] for rule in ALERTS if not reads_platform_series(rule["expr"])}
    fleet_file = load_yaml(RULES_DIR / "integration-monitor-fleet-alerts.yml")
    fleet = {rule["alert"] for group in fleet_file["groups"] for rule in group["rules"]}
    assert exempt - fleet == {
        "IntegrationMonitorDown",
        "IntegrationMonitorAbsent",
        "IntegrationsDegraded",
    }


@pytest.mark.parametrize(
    "rule",
    [rule for rule in ALERTS if "integration_organization_error" in metric_names(rule["expr"])],
    ids=lambda rule: rule["alert"],
)
def test_alert_rule__on_one_organization_never_pages(rule: dict[str, Any]) -> None:
    """One organization's broken setup is a ticket for its account manager, not a page."""
    assert rule["labels"]["severity"] == "ticket"


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


def rule_queries() -> list[tuple[str, str]]:
    """(rule name, PromQL) of every rule expression and every query in an annotation."""
    found = []
    for group in rule_groups():
        for rule in group["rules"]:
            name = rule.get("alert") or rule["record"]
            found.append((name, rule["expr"]))
            texts = "\n".join(rule.get("annotations", {}).values())
            found += [(name, query) for query in ANNOTATION_QUERY.findall(texts)]
    return found


@pytest.mark.parametrize(
    ("name", "query"),
    [(name, query) for name, query in rule_queries() if metric_names(query) & REPLICA_COPIES],
    ids=lambda value: value if re.fullmatch(r"\w+", value) else "",
)
def test_rule_query__never_adds_up_what_every_replica_reports_alike(name: str, query: str) -> None:
    """A gauge each shard reports for itself (its intervals, the source it reads whole) reads
    the same with 3 shards as with 1."""
    assert not adds_up_replicas(query), (name, query)


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
    assert sorted(order[: len(recording)]) == sorted(recording)


def test_monitoring_stack_doc__lists_every_alert() -> None:
    """The README's alert table explains every alert an operator can receive."""
    text = MONITORING_STACK_DOC.read_text(encoding="utf-8")
    assert [name for name in ALERT_IDS if f"| `{name}` |" not in text] == []


def test_alerts_doc__explains_every_reason() -> None:
    """The runbook's reason table tells the on-call engineer where to look for each reason."""
    text = ALERTS_RUNBOOK.read_text(encoding="utf-8")
    section = text.partition("## IntegrationError\n")[2].partition("\n## ")[0]
    assert [reason.value for reason in Reason if f"`{reason.value}`" not in section] == []
