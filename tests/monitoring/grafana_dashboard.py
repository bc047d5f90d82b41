"""Walks a Grafana dashboard's JSON: panels, queries and template variables."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Built-in Grafana panel types of Grafana 10.4 / 11 (dashboard schemaVersion 39).
BUILT_IN_PANEL_TYPES = frozenset(
    {
        "row",
        "stat",
        "gauge",
        "bargauge",
        "timeseries",
        "state-timeline",
        "status-history",
        "heatmap",
        "histogram",
        "table",
        "text",
        "piechart",
        "barchart",
        "logs",
        "alertlist",
        "dashlist",
        "news",
        "nodeGraph",
        "traces",
        "flamegraph",
        "candlestick",
        "xychart",
        "trend",
        "geomap",
        "canvas",
        "annolist",
        "datagrid",
    }
)
GRID_COLUMNS = 24
DATASOURCE_VARIABLE_UIDS = frozenset({"${datasource}", "$datasource"})
# Variables Grafana itself provides to every query.
GLOBAL_VARIABLES = frozenset(
    {"__interval", "__interval_ms", "__rate_interval", "__range", "__range_s", "__range_ms"}
)
_VARIABLE_USE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
_LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*\w+\s*\)\s*$", re.DOTALL)


@dataclass(frozen=True)
class Query:
    """One PromQL expression of the dashboard and where it sits."""

    where: str
    expr: str


def iter_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def variable_query(variable: dict[str, Any]) -> str:
    """The PromQL inside a query variable (`label_values(<expr>, label)` or plain)."""
    query = variable.get("query", "")
    text = query.get("query", "") if isinstance(query, dict) else str(query)
    match = _LABEL_VALUES.match(text)
    return match.group(1) if match else text


def queries(dashboard: dict[str, Any]) -> list[Query]:
    """Every PromQL expression: panel targets, annotations and query variables."""
    found = [
        Query(
            f"panel {panel.get('id')} {panel.get('title')!r} {target.get('refId')}", target["expr"]
        )
        for panel in iter_panels(dashboard)
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    for annotation in dashboard.get("annotations", {}).get("list", []):
        if "expr" in annotation:
            found.append(Query(f"annotation {annotation.get('name')!r}", annotation["expr"]))
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            found.append(Query(f"variable {variable['name']!r}", variable_query(variable)))
    return found


def variables_used(text: str) -> set[str]:
    """Names of the `$var` and `${var}` references in a text."""
    return {braced or bare for braced, bare in _VARIABLE_USE.findall(text)}


def fill_variables(expr: str, values: dict[str, str]) -> str:
    """Replace `$var` and `${var}` with sample values so that PromQL tools can parse it."""
    return _VARIABLE_USE.sub(lambda m: values[m.group(1) or m.group(2)], expr)
