"""Sped-up copies of the shipped rules, for end-to-end tests with a short check interval."""

import textwrap
from pathlib import Path

import pytest
import yaml

from tests.monitoring.rules_override import (
    format_duration_ms,
    parse_duration_ms,
    scale_expression,
    speed_up_rule_groups,
    write_fast_rule_files,
)
from tests.monitoring.stack_binaries import assert_tool_succeeds
from tests.monitoring.stack_files import RULES_DIR, load_yaml

FACTOR = 60
FIRING_ERRORS = 'ALERTS{alertname="IntegrationError",alertstate="firing"}'


def shipped_rule(name: str, factor: int = FACTOR) -> dict[str, object]:
    """One rule of the shipped files, sped up by `factor`."""
    for path in sorted(RULES_DIR.glob("*.yml")):
        for group in speed_up_rule_groups(load_yaml(path), factor)["groups"]:
            for rule in group["rules"]:
                if name in (rule.get("alert"), rule.get("record")):
                    return dict(rule)
    raise AssertionError(f"no rule named {name}")


def test_parse_duration_ms__reads_compound_durations() -> None:
    """Durations such as 1h30m and 500ms are understood as Prometheus does."""
    assert parse_duration_ms("1h30m") == 5_400_000
    assert parse_duration_ms("3d") == 259_200_000
    assert parse_duration_ms("500ms") == 500
    with pytest.raises(ValueError, match="not a Prometheus duration"):
        parse_duration_ms("5 minutes")


def test_format_duration_ms__writes_largest_units_first() -> None:
    """Scaled durations read naturally in the generated files."""
    assert format_duration_ms(4_320_000) == "1h12m"
    assert format_duration_ms(5_000) == "5s"
    assert format_duration_ms(1_500) == "1s500ms"
    assert format_duration_ms(0) == "0s"


def test_scale_expression__scales_windows_subqueries_offsets_and_marked_seconds() -> None:
    """Every time constant in a query shrinks; ratios, factors and counts stay."""
    expr = "rate(x[5m]) > (14.4 * 0.01) and max_over_time(y[1h:1m] offset 30m) > 180  # seconds"
    assert scale_expression(expr, FACTOR) == (
        "rate(x[5s]) > (14.4 * 0.01) and max_over_time(y[1m:1s] offset 30s) > 3  # seconds"
    )


def test_scale_expression__leaves_regex_brackets_alone() -> None:
    """A character class in a label matcher is not mistaken for a range window."""
    expr = 'up{instance=~"[a-z]+:9477"}'
    assert scale_expression(expr, FACTOR) == expr


def test_speed_up__scales_for_interval_and_annotation_queries() -> None:
    """`for:`, group intervals and the queries inside annotations all shrink."""
    rule_file = yaml.safe_load(
        textwrap.dedent(
            """
            groups:
              - name: g
                interval: 1m
                rules:
                  - alert: A
                    expr: increase(x[10m]) > 4
                    for: 15m
                    annotations:
                      description: '{{ with query "increase(x[10m])" }}{{ end }} for 15 minutes'
            """
        )
    )
    fast = speed_up_rule_groups(rule_file, FACTOR)["groups"][0]
    assert fast["interval"] == "1s"
    assert fast["rules"][0]["for"] == "15s"
    assert fast["rules"][0]["expr"] == "increase(x[10s]) > 4"
    assert "increase(x[10s])" in fast["rules"][0]["annotations"]["description"]


def test_speed_up__leaves_its_input_untouched() -> None:
    """The parsed shipped file can be reused after making a fast copy of it."""
    rule_file = {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "x[5m]", "for": "5m"}]}]}
    speed_up_rule_groups(rule_file, FACTOR)
    assert rule_file["groups"][0]["rules"][0] == {"alert": "A", "expr": "x[5m]", "for": "5m"}


@pytest.mark.parametrize("factor", [0, -60])
def test_speed_up__rejects_a_factor_below_one(factor: int) -> None:
    """A zero or negative factor is refused instead of producing nonsense durations."""
    with pytest.raises(ValueError, match="positive"):
        speed_up_rule_groups({"groups": []}, factor)


def test_speed_up__rejects_durations_finer_than_a_millisecond() -> None:
    """A factor that would need fractional milliseconds fails loudly."""
    with pytest.raises(ValueError, match="whole number of milliseconds"):
        scale_expression("rate(x[1s])", 7)


def test_speed_up__shipped_alerts_keep_their_meaning_in_check_intervals() -> None:
    """At factor 60, one check a second behaves like one check a minute in production."""
    assert shipped_rule("IntegrationError")["for"] == "5s"
    # Staleness is counted in the intervals the daemon reports, so it needs no scaling.
    assert "3 * integration_monitor_interval_seconds" in str(
        shipped_rule("IntegrationChecksStale")["expr"]
    )
    assert "[1m]" in str(shipped_rule("IntegrationFlapping")["expr"])
    assert ") > 4" in str(shipped_rule("IntegrationFlapping")["expr"]), "counts do not scale"
    recorded = str(shipped_rule("integration:check_availability:ratio_rate3d")["expr"])
    assert "[1h12m]" in recorded


def test_write_fast_rule_files__pass_promtool_check_rules(tmp_path: Path) -> None:
    """The generated files load in Prometheus like the shipped ones."""
    written = write_fast_rule_files(RULES_DIR, tmp_path, FACTOR)
    assert [path.name for path in written] == [
        path.name for path in sorted(RULES_DIR.glob("*.yml"))
    ]
    assert_tool_succeeds("promtool", "check", "rules", *map(str, written))


def test_write_fast_rule_files__fire_integration_error_after_5_seconds(tmp_path: Path) -> None:
    """With fast rules, an integration in error for 5 checks of 1 s pages, not before."""
    write_fast_rule_files(RULES_DIR, tmp_path / "rules", FACTOR)
    labels = 'job="j",instance="i",integration="stripe",status="error"'
    # ALERTS holds one sample per evaluation and state: labels only, no annotations. The
    # alert aggregates the replicas away: the instance label goes.
    alert_labels = 'job="j",integration="stripe",status="error"'
    firing = (
        f'ALERTS{{alertname="IntegrationError",alertstate="firing",severity="page",{alert_labels}}}'
    )
    unit_test = {
        "rule_files": ["rules/*.yml"],
        "evaluation_interval": "1s",
        "tests": [
            {
                "interval": "1s",
                "input_series": [
                    {"series": f"integration_status{{{labels}}}", "values": "0 0 1 1 1 1 1 1"}
                ],
                "promql_expr_test": [
                    {"expr": FIRING_ERRORS, "eval_time": "6s", "exp_samples": []},
                    {
                        "expr": FIRING_ERRORS,
                        "eval_time": "7s",
                        "exp_samples": [{"labels": firing, "value": 1}],
                    },
                ],
            }
        ],
    }
    test_file = tmp_path / "fast.test.yml"
    test_file.write_text(yaml.safe_dump(unit_test))
    result = assert_tool_succeeds("promtool", "test", "rules", str(test_file))
    assert "SUCCESS" in result.stdout
