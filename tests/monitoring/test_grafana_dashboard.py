"""The Grafana dashboard and its provisioning files, checked without a Grafana."""

import json
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.checks.base import Reason
from tests.monitoring.grafana_dashboard import (
    BUILT_IN_PANEL_TYPES,
    DATASOURCE_VARIABLE_UIDS,
    GLOBAL_VARIABLES,
    GRID_COLUMNS,
    fill_variables,
    iter_panels,
    queries,
    variables_used,
)
from tests.monitoring.promql_names import (
    REPLICA_COPIES,
    adds_up_replicas,
    known_series_names,
    metric_names,
)
from tests.monitoring.stack_binaries import assert_tool_succeeds
from tests.monitoring.stack_files import (
    DASHBOARD,
    GRAFANA_PROVISIONING,
    load_yaml,
    recording_rule_names,
)

SCHEMA_VERSION = 39
DASHBOARD_JSON: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
PANELS = list(iter_panels(DASHBOARD_JSON))
DATA_PANELS = [panel for panel in PANELS if panel["type"] != "row"]
QUERIES = queries(DASHBOARD_JSON)
# Values Grafana would substitute; any well-formed ones will do for a syntax check.
SAMPLE_VARIABLES = {
    "datasource": "prometheus",
    "job": "integration-monitor",
    "instance": "localhost:9477",
} | dict.fromkeys(GLOBAL_VARIABLES, "1m")


def overlaps(a: dict[str, int], b: dict[str, int]) -> bool:
    """Whether two gridPos rectangles share a cell."""
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


def test_dashboard__declares_schema_version_39_and_identity() -> None:
    """Grafana imports the dashboard with a stable uid instead of a migrated copy."""
    assert DASHBOARD_JSON["schemaVersion"] == SCHEMA_VERSION
    assert DASHBOARD_JSON["uid"] == "integration-monitor"
    assert DASHBOARD_JSON["title"]
    assert DASHBOARD_JSON.get("id") is None, "an exported id would clash on import"


def test_dashboard__panels_have_unique_ids_and_known_types() -> None:
    """Every panel renders, and links to a panel (viewPanel=<id>) open the right one."""
    ids = [panel.get("id") for panel in PANELS]
    assert all(isinstance(panel_id, int) for panel_id in ids), ids
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {ids}"
    assert {panel["type"] for panel in PANELS} <= BUILT_IN_PANEL_TYPES


@pytest.mark.parametrize("panel", PANELS, ids=lambda panel: panel["title"])
def test_dashboard_panel__fits_the_24_column_grid(panel: dict[str, Any]) -> None:
    """No panel is cut off at the right edge of the screen."""
    grid = panel["gridPos"]
    assert {"x", "y", "w", "h"} <= grid.keys()
    assert all(isinstance(grid[key], int) and grid[key] >= 0 for key in "xywh")
    assert grid["w"] > 0
    assert grid["h"] > 0
    assert grid["x"] + grid["w"] <= GRID_COLUMNS


def test_dashboard__panels_do_not_overlap() -> None:
    """No panel hides another one."""
    pairs = [
        (a["title"], b["title"])
        for a, b in combinations(PANELS, 2)
        if overlaps(a["gridPos"], b["gridPos"])
    ]
    assert pairs == []


@pytest.mark.parametrize("panel", DATA_PANELS, ids=lambda panel: panel["title"])
def test_dashboard_panel__queries_the_selected_datasource(panel: dict[str, Any]) -> None:
    """Switching the datasource variable switches every panel and every query."""
    refs = [panel.get("datasource", {})] + [
        target.get("datasource", {}) for target in panel["targets"]
    ]
    assert all(ref.get("type") == "prometheus" for ref in refs), refs
    assert all(ref.get("uid") in DATASOURCE_VARIABLE_UIDS for ref in refs), refs


@pytest.mark.parametrize("panel", DATA_PANELS, ids=lambda panel: panel["title"])
def test_dashboard_panel__targets_have_expr_and_unique_ref_ids(panel: dict[str, Any]) -> None:
    """Every panel shows data, and Grafana can tell its queries apart."""
    targets = panel["targets"]
    assert targets, "a panel without a query shows nothing"
    assert all(target.get("expr", "").strip() for target in targets)
    ref_ids = [target.get("refId") for target in targets]
    assert all(ref_ids), ref_ids
    assert len(ref_ids) == len(set(ref_ids)), ref_ids


def test_dashboard__variables_cover_datasource_job_and_instance() -> None:
    """An operator can pick the Prometheus, the job and the instance to look at."""
    variables = {var["name"]: var for var in DASHBOARD_JSON["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("job", "instance"):
        assert variables[name]["type"] == "query"
        assert variables[name]["datasource"]["uid"] in DATASOURCE_VARIABLE_UIDS


@pytest.mark.parametrize("query", QUERIES, ids=lambda query: query.where)
def test_dashboard_query__uses_only_defined_variables(query: Any) -> None:
    """No panel shows 'No data' because of a misspelt variable."""
    defined = {var["name"] for var in DASHBOARD_JSON["templating"]["list"]} | GLOBAL_VARIABLES
    assert variables_used(query.expr) - defined == set()


@pytest.mark.parametrize("query", QUERIES, ids=lambda query: query.where)
def test_dashboard_query__names_only_spec_or_recorded_metrics(query: Any) -> None:
    """Every panel reads a metric the daemon exports or a shipped recording rule writes."""
    names = metric_names(query.expr)
    assert names, f"no metric found in {query.expr!r}"
    assert names - known_series_names(recording_rule_names()) == set()


def test_dashboard__panel_queries_filter_by_job_and_instance() -> None:
    """Choosing an instance narrows every panel to it."""
    panel_queries = [query for query in QUERIES if query.where.startswith("panel")]
    assert [
        q.where for q in panel_queries if not {"job", "instance"} <= variables_used(q.expr)
    ] == []


def test_dashboard__queries_parse_as_promql(tmp_path: Path) -> None:
    """Prometheus accepts every dashboard query once Grafana has filled in the variables."""
    rules = [
        {"record": f"dashboard:query:{index}", "expr": fill_variables(query.expr, SAMPLE_VARIABLES)}
        for index, query in enumerate(QUERIES)
    ]
    rule_file = tmp_path / "dashboard-queries.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    assert_tool_succeeds("promtool", "check", "rules", str(rule_file))


def test_dashboard__shows_what_an_operator_needs_at_night() -> None:
    """Status now, status history, latency percentiles and a latency heatmap are there."""
    types = {panel["type"] for panel in DATA_PANELS}
    assert {"stat", "state-timeline", "timeseries", "heatmap"} <= types
    heatmap_targets = [t for p in DATA_PANELS if p["type"] == "heatmap" for t in p["targets"]]
    assert all("_bucket" in t["expr"] and t.get("format") == "heatmap" for t in heatmap_targets)


def test_dashboard__annotates_state_changes() -> None:
    """Status transitions appear as marks on every time axis."""
    annotations = DASHBOARD_JSON["annotations"]["list"]
    exprs = [a["expr"] for a in annotations if a.get("enable")]
    assert any("integration_state_changes_total" in expr for expr in exprs)
    assert all(a["datasource"]["uid"] in DATASOURCE_VARIABLE_UIDS for a in annotations)


def test_grafana_provisioning__adds_a_prometheus_datasource() -> None:
    """A fresh Grafana gets a Prometheus datasource for the dashboard's default."""
    files = sorted((GRAFANA_PROVISIONING / "datasources").glob("*.yml"))
    datasources = [ds for path in files for ds in load_yaml(path)["datasources"]]
    assert [ds["type"] for ds in datasources] == ["prometheus"]
    assert datasources[0]["url"].startswith("http")


def test_grafana_provisioning__loads_the_dashboard_folder() -> None:
    """Grafana's dashboard provider reads the folder that holds the shipped JSON."""
    files = sorted((GRAFANA_PROVISIONING / "dashboards").glob("*.yml"))
    providers = [p for path in files for p in load_yaml(path)["providers"]]
    assert providers
    assert all(p["type"] == "file" and p["options"]["path"] for p in providers)


def panels_in_row(title: str) -> list[dict[str, Any]]:
    """The data panels laid out under the row called `title`, down to the next row."""
    rows = sorted((p["gridPos"]["y"], p["title"]) for p in PANELS if p["type"] == "row")
    (top,) = [y for y, name in rows if name == title]
    bottom = min([y for y, _ in rows if y > top], default=10**6)
    return [p for p in DATA_PANELS if top < p["gridPos"]["y"] < bottom]


def names_in(panels: list[dict[str, Any]]) -> set[str]:
    """Every metric name the panels' queries read."""
    return {name for panel in panels for t in panel["targets"] for name in metric_names(t["expr"])}


def test_dashboard__fleet_row_shows_organizations_rounds_budget_source_sink_and_shards() -> None:
    """In fleet mode an operator sees the whole fleet, its machinery and its shards at once."""
    assert {
        "integration_organizations",
        "integration_organization_errors",
        "integration_organization_round_seconds",
        "integration_organization_interval_seconds",
        "integration_provider_requests_total",
        "integration_provider_budget_requests_per_second",
        "integration_organization_source_up",
        "integration_organization_source_last_success_timestamp_seconds",
        "integration_monitor_sink_rows_written_total",
        "integration_monitor_sink_pending_rows",
        "integration_monitor_sink_errors_total",
        "integration_monitor_sink_up",
        "integration_monitor_shard_info",
        "integration_monitor_shards",
    } <= names_in(panels_in_row("Fleet"))


def test_dashboard__phone_numbers_row_shows_the_platform_and_the_organizations() -> None:
    """Numbers by quality and those that can send, for the platform and summed over the fleet."""
    assert {
        "integration_whatsapp_phone_numbers",
        "integration_whatsapp_phone_numbers_sendable",
        "integration_organization_whatsapp_phone_numbers",
        "integration_organizations_without_sendable_number",
    } <= names_in(panels_in_row("Phone numbers"))


def test_dashboard__fleet_counts_add_the_shards_up() -> None:
    """Organization counts are summed over the selected instances, never shown per replica."""
    counts = [
        t["expr"]
        for p in panels_in_row("Fleet")
        for t in p["targets"]
        if "integration_organizations{" in t["expr"]
    ]
    assert counts
    assert all(expr.lstrip().startswith("sum") for expr in counts), counts


@pytest.mark.parametrize(
    "panel",
    [p for p in DATA_PANELS if "Reasons:" in p.get("description", "")],
    ids=lambda panel: panel["title"],
)
def test_dashboard_panel__lists_every_reason(panel: dict[str, Any]) -> None:
    """A panel that explains the reasons names every one of them, misconfigured included."""
    listed = panel["description"].partition("Reasons:")[2]
    assert [reason.value for reason in Reason if reason.value not in listed] == []


@pytest.mark.parametrize(
    "query",
    [query for query in QUERIES if metric_names(query.expr) & REPLICA_COPIES],
    ids=lambda query: query.where,
)
def test_dashboard_query__never_adds_up_what_every_replica_reports_alike(query: Any) -> None:
    """A gauge each shard reports for itself (the source's invalid rows, its intervals) reads
    the same with 3 shards as with 1."""
    assert not adds_up_replicas(query.expr), query.expr


def panel_query(title: str, ref_id: str) -> str:
    """One panel target's PromQL, over every instance of the job."""
    [expr] = [
        target["expr"]
        for panel in DATA_PANELS
        if panel["title"] == title
        for target in panel["targets"]
        if target["refId"] == ref_id
    ]
    return fill_variables(expr, SAMPLE_VARIABLES | {"instance": ".+"})


def three_replicas(series: str, values: str = "1+0x5", **labels: str) -> list[dict[str, str]]:
    """The same series as three replicas of one deployment export it."""
    extra = "".join(f',{name}="{value}"' for name, value in labels.items())
    return [
        {
            "series": f'{series}{{job="integration-monitor",instance="monitor-{n}:9477"{extra}}}',
            "values": values,
        }
        for n in range(3)
    ]


def assert_panel_values(
    tmp_path: Path, series: list[dict[str, str]], expected: dict[tuple[str, str], float]
) -> None:
    """Feed `series` to promtool and check each panel target's value at 5 minutes."""
    cases = [
        {"expr": panel_query(*target), "eval_time": "5m", "exp_samples": [{"value": value}]}
        for target, value in expected.items()
    ]
    test = {"interval": "1m", "input_series": series, "promql_expr_test": cases}
    path = tmp_path / "panels.test.yml"
    path.write_text(yaml.safe_dump({"rule_files": [], "tests": [test]}))
    assert_tool_succeeds("promtool", "test", "rules", str(path))


def test_dashboard__three_shards_show_the_source_and_the_platform_once(tmp_path: Path) -> None:
    """Every shard parses the whole source and checks every platform integration: with 3
    shards, 4 invalid rows read 4 and stripe in error counts as one integration."""
    series = (
        three_replicas("integration_organization_source_invalid_rows", "4+0x5")
        + three_replicas("integration_status", integration="stripe", status="error")
        + three_replicas("integration_status", "0+0x5", integration="email", status="error")
    )
    assert_panel_values(
        tmp_path,
        series,
        {("Organization source", "C"): 4, ("Integrations in error", "A"): 1},
    )


@pytest.mark.parametrize("shard_label", ["shard", "exported_shard"])
def test_dashboard__counts_distinct_shards_whatever_the_target_labels(
    tmp_path: Path, shard_label: str
) -> None:
    """3 replicas of 3 shards read 3 running, also where a target label named `shard` made
    Prometheus rename the daemon's own to `exported_shard`."""
    series = [
        {
            "series": (
                f'integration_monitor_shard_info{{job="integration-monitor",'
                f'instance="monitor-{n}:9477",{shard_label}="{n}",shards="3"'
                + (',shard="all"' if shard_label == "exported_shard" else "")
                + "}"
            ),
            "values": "1+0x5",
        }
        for n in range(3)
    ]
    assert_panel_values(tmp_path, series, {("Shards running", "A"): 3, ("Shards running", "C"): 3})
