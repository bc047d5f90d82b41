"""Prometheus configuration, rule files and rule unit tests, checked by Debian's promtool."""

from pathlib import Path

import pytest

from tests.monitoring.stack_binaries import assert_tool_succeeds, require_tool
from tests.monitoring.stack_files import PROMETHEUS_CONFIG, rule_files, rule_test_files


def test_prometheus_config__passes_promtool_check_config() -> None:
    """Prometheus starts with the shipped config and finds its rule files."""
    result = assert_tool_succeeds("promtool", "check", "config", str(PROMETHEUS_CONFIG))
    assert f"{len(rule_files())} rule files found" in result.stdout


def test_rule_files__pass_promtool_check_rules() -> None:
    """Prometheus loads every recording and alerting rule without a syntax error."""
    assert rule_files(), "no rule files under deploy/prometheus/rules"
    assert_tool_succeeds("promtool", "check", "rules", *map(str, rule_files()))


def test_rule_unit_tests__pass_promtool_test_rules() -> None:
    """Every alert fires and stays silent exactly when its unit tests say."""
    assert rule_test_files(), "no unit tests under deploy/prometheus/tests"
    result = assert_tool_succeeds("promtool", "test", "rules", *map(str, rule_test_files()))
    assert result.stdout.count("SUCCESS") == len(rule_test_files())


def test_require_tool__fails_with_install_hint_when_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A machine without promtool gets a failed run that names the package, not a skip."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match=r"install the Debian package.*prometheus"):
        require_tool("promtool")
