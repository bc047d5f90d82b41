"""The metric-name scanner the dashboard and rule tests rely on."""

from tests.monitoring.promql_names import adds_up_replicas, known_series_names, metric_names


def test_metric_names__ignore_functions_labels_and_keywords() -> None:
    """Aggregations, label lists and matchers are not taken for metrics."""
    expr = (
        'sum by (job, integration) (rate(integration_checks_total{status="error"}[5m]))'
        " / on (job) group_left (reason) max without (le) (up offset 1h) > bool 0"
    )
    assert metric_names(expr) == {"integration_checks_total", "up"}


def test_metric_names__read_recording_rule_names_with_colons() -> None:
    """Recorded series such as integration:check_availability:ratio_rate1h are found."""
    expr = "(1 - integration:check_availability:ratio_rate1h) > (14.4 * (1 - 0.99))"
    assert metric_names(expr) == {"integration:check_availability:ratio_rate1h"}


def test_metric_names__ignore_strings_comments_and_grafana_variables() -> None:
    """Text in label_replace strings, `#` comments and $__interval is not a metric."""
    expr = (
        'label_replace(integration_up{instance=~"$instance"}, "dst", "fake_metric", "", "")'
        "[$__interval:] > 180  # seconds: not_a_metric either"
    )
    assert metric_names(expr) == {"integration_up"}


def test_metric_names__find_misspelt_metrics() -> None:
    """A typo in a metric name is reported, so the check can fail on it."""
    assert metric_names("integration_check_failure_total > 0") == {
        "integration_check_failure_total"
    }


def test_known_series_names__include_histogram_series_but_not_bare_histograms() -> None:
    """Histograms are queried through _bucket, _sum and _count; the bare name has no data."""
    known = known_series_names({"integration:x:y"})
    assert "integration_check_duration_seconds_bucket" in known
    assert "integration_check_duration_seconds" not in known
    assert {"up", "integration:x:y", "integration_status"} <= known


def test_adds_up_replicas__only_a_sum_that_keeps_instance_stays_per_replica() -> None:
    """`sum by (job, instance)` adds one replica's series; any other sum adds replicas."""
    assert not adds_up_replicas("sum by (job, instance) (integration_whatsapp_phone_numbers) > 0")
    assert not adds_up_replicas("max(integration_organization_source_invalid_rows)  # no sum")
    assert adds_up_replicas("sum(integration_organization_source_invalid_rows)")
    assert adds_up_replicas("sum by (job) (integration_monitor_shards)")
    assert adds_up_replicas("sum without (instance) (integration_monitor_shards)")
