"""Where the monitoring stack lives in the repository, and how to read its files."""

from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULES_DIR = PROMETHEUS_DIR / "rules"
RULE_TESTS_DIR = PROMETHEUS_DIR / "tests"
ALERTMANAGER_CONFIG = REPO_ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
DASHBOARD = REPO_ROOT / "grafana" / "dashboards" / "integration-monitor.json"
GRAFANA_PROVISIONING = REPO_ROOT / "grafana" / "provisioning"
ALERTS_RUNBOOK = REPO_ROOT / "docs" / "alerts.md"
MONITORING_STACK_DOC = REPO_ROOT / "README.md"


def load_yaml(path: Path) -> Any:
    """Parse one YAML file."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rule_files() -> list[Path]:
    """The rule files Prometheus loads (`rule_files: rules/*.yml`)."""
    return sorted(RULES_DIR.glob("*.yml"))


def rule_test_files() -> list[Path]:
    """The promtool unit test files."""
    return sorted(RULE_TESTS_DIR.glob("*.test.yml"))


def rule_groups() -> list[dict[str, Any]]:
    """Every rule group of every rule file, in file order."""
    return [group for path in rule_files() for group in load_yaml(path)["groups"]]


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule."""
    return [rule for group in rule_groups() for rule in group["rules"] if "alert" in rule]


def recording_rule_names() -> set[str]:
    """Names of the series the recording rules write."""
    return {
        rule["record"] for group in rule_groups() for rule in group["rules"] if "record" in rule
    }
