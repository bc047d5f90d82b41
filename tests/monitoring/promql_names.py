"""Which metric names a PromQL expression reads, and which names exist at all."""

import re

# The metrics the daemon exports (the interface contract, section 5). Histograms are
# scraped as _bucket, _sum and _count series; their bare name holds no series.
SPEC_METRICS = frozenset(
    {
        "integration_up",
        "integration_status",
        "integration_checks_total",
        "integration_check_failures_total",
        "integration_last_check_timestamp_seconds",
        "integration_last_success_timestamp_seconds",
        "integration_state_changes_total",
        "integration_overall_status",
        "integration_monitor_build_info",
        # Beyond the contract: the configured interval, so staleness is measured in intervals.
        "integration_monitor_interval_seconds",
        "integration_check_retries_total",
        # Shards (section 8.7), exported by every replica, sharded or not.
        "integration_monitor_shard_info",
        "integration_monitor_shards",
        # The platform's WhatsApp phone numbers (section 11).
        "integration_whatsapp_phone_numbers",
        "integration_whatsapp_phone_numbers_sendable",
    }
)
# Fleet mode only (sections 8.5, 8.7 and 11): with an organization source, and for the
# sink's with MONITOR_STATUS_SINK=postgres.
FLEET_METRICS = frozenset(
    {
        "integration_organizations",
        "integration_organization_checks_total",
        "integration_organization_check_failures_total",
        "integration_organization_state_changes_total",
        "integration_organization_round_seconds",
        "integration_organization_interval_seconds",
        "integration_organization_source_up",
        "integration_organization_source_last_success_timestamp_seconds",
        "integration_organization_source_invalid_rows",
        "integration_organization_source_reload_seconds",
        "integration_organization_errors",
        "integration_organization_oldest_result_age_seconds",
        "integration_organization_error",
        "integration_organization_error_series_dropped",
        "integration_organization_whatsapp_phone_numbers",
        "integration_organizations_without_sendable_number",
        "integration_provider_requests_total",
        "integration_provider_budget_requests_per_second",
        "integration_monitor_sink_errors_total",
        "integration_monitor_sink_up",
        "integration_monitor_sink_pending_rows",
        "integration_monitor_sink_rows_written_total",
        "integration_monitor_sink_last_success_timestamp_seconds",
        "integration_monitor_sink_dropped_changes_total",
    }
)
SPEC_HISTOGRAMS = frozenset(
    {"integration_check_duration_seconds", "integration_monitor_cycle_duration_seconds"}
)
FLEET_HISTOGRAMS = frozenset({"integration_organization_check_duration_seconds"})
# Gauges every replica of a sharded deployment reports for itself, with the same value on
# each: every shard reads the whole organization source, runs with the same settings and
# checks the platform's own phone numbers. Summed over the shards they read n times too much.
REPLICA_COPIES = frozenset(
    {
        "integration_monitor_interval_seconds",
        "integration_monitor_shards",
        "integration_organization_interval_seconds",
        "integration_organization_source_up",
        "integration_organization_source_last_success_timestamp_seconds",
        "integration_organization_source_invalid_rows",
        "integration_organization_source_reload_seconds",
        "integration_whatsapp_phone_numbers",
        "integration_whatsapp_phone_numbers_sendable",
    }
)
# Written by Prometheus itself for every scrape target.
PROMETHEUS_METRICS = frozenset({"up"})


def _histogram_series(histograms: frozenset[str]) -> frozenset[str]:
    return frozenset(f"{name}{end}" for name in histograms for end in ("_bucket", "_sum", "_count"))


def fleet_series_names() -> frozenset[str]:
    """The series only a daemon in fleet mode exports."""
    return FLEET_METRICS | _histogram_series(FLEET_HISTOGRAMS)


def known_series_names(recording_rules: set[str]) -> frozenset[str]:
    """Every series name a query may read: the spec's, Prometheus's and the recorded ones."""
    platform = SPEC_METRICS | _histogram_series(SPEC_HISTOGRAMS)
    return platform | fleet_series_names() | PROMETHEUS_METRICS | recording_rules


_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool"}
    | {"and", "or", "unless", "offset", "inf", "nan", "atan2"}
)
# Removed before looking for names, in this order: none of them can hold a metric name.
_NOT_NAMES = (
    re.compile(r"#[^\n]*"),  # comments
    re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`'),  # strings
    re.compile(r"\$\{[^}]*\}|\$\w+"),  # Grafana variables such as $__interval
    re.compile(r"\{[^{}]*\}"),  # label matchers
    re.compile(r"\[[^\[\]]*\]"),  # range and subquery windows
    re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)"),
    re.compile(r"\boffset\s+-?\w+"),
)
_IDENTIFIER = re.compile(r"(?<![\w.:])[a-zA-Z_:][\w:]*")


def metric_names(expr: str) -> set[str]:
    """Return the metric names an expression selects (not functions, labels or keywords)."""
    for pattern in _NOT_NAMES:
        expr = pattern.sub(" ", expr)
    names = set()
    for match in _IDENTIFIER.finditer(expr):
        is_call = expr[match.end() :].lstrip().startswith("(")
        if not is_call and match.group().lower() not in _KEYWORDS:
            names.add(match.group())
    return names


_SELECTOR = re.compile(r"(?<![\w.:])([a-zA-Z_:][\w:]*)\s*\{([^{}]*)\}")
_MATCHER_LABEL = re.compile(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)")


def selector_labels(expr: str) -> list[tuple[str, frozenset[str]]]:
    """Each `name{label matchers}` of an expression (or a series): its name and label names."""
    expr = _NOT_NAMES[0].sub(" ", expr)  # comments first: a `#` may sit inside a string below
    selectors = []
    for name, matchers in _SELECTOR.findall(expr):
        without_values = _NOT_NAMES[1].sub("", matchers)
        selectors.append((name, frozenset(_MATCHER_LABEL.findall(without_values))))
    return selectors


_SUM = re.compile(r"\bsum\b\s*(?:by\s*\(([^()]*)\))?")


def adds_up_replicas(expr: str) -> bool:
    """Whether a `sum` of the expression adds series of different replicas together: every
    sum but one `by` a list that keeps `instance`."""
    expr = _NOT_NAMES[0].sub(" ", expr)
    return any(
        by is None or "instance" not in {label.strip() for label in by.split(",")}
        for by in (match.group(1) for match in _SUM.finditer(expr))
    )
