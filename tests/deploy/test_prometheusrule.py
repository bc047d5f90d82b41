"""One source of alert rules: the PrometheusRule is generated from the Prometheus rule files."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from tests.deploy.tooling import DEPLOY, REPO_ROOT, load_yaml, run

GENERATOR = REPO_ROOT / "scripts" / "gen-prometheusrule"
RULES_DIR = DEPLOY / "prometheus" / "rules"
COMMITTED = DEPLOY / "kubernetes" / "prometheusrule.yaml"

MULTI_LINE_ALERT = """\
groups:
  - name: example.alerts
    rules:
      - alert: ExampleDown
        expr: |
          up{job="example"}
            == 0
        for: 5m
        labels:
          severity: page
        annotations:
          description: '{{ $labels.instance }} is down: "quoted" and # not a comment'
"""
RECORDING = """\
groups:
  - name: example.recording
    interval: 1m
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
"""


def generate(*args: str) -> tuple[int, str, str]:
    result = run([sys.executable, str(GENERATOR), *args])
    return result.returncode, result.stdout, result.stderr


def groups_of_rule_files(rules_dir: Path) -> list[dict[str, object]]:
    """The groups Prometheus loads through `rule_files: [rules/*.yml]`, in file order."""
    files = sorted(rules_dir.glob("*.yml"))
    return [group for path in files for group in load_yaml(path)["groups"]]


def test_gen_prometheusrule__carries_every_group_unchanged(tmp_path: Path):
    """Rules in the generated PrometheusRule are the rule files' rules, byte for byte in PromQL."""
    (tmp_path / "b-recording.yml").write_text(RECORDING, encoding="utf-8")
    (tmp_path / "a-alerts.yml").write_text(MULTI_LINE_ALERT, encoding="utf-8")
    status, stdout, stderr = generate("--rules-dir", str(tmp_path))
    assert status == 0, stderr
    manifest = yaml.safe_load(stdout)
    assert manifest["kind"] == "PrometheusRule"
    assert manifest["spec"]["groups"] == groups_of_rule_files(tmp_path)


def test_gen_prometheusrule__rejects_a_group_name_used_twice(tmp_path: Path):
    """Two files defining the same group stop generation instead of shadowing each other."""
    (tmp_path / "one.yml").write_text(RECORDING, encoding="utf-8")
    (tmp_path / "two.yml").write_text(RECORDING, encoding="utf-8")
    status, _, stderr = generate("--rules-dir", str(tmp_path))
    assert status == 2
    assert "example.recording" in stderr


def test_gen_prometheusrule__refuses_an_empty_rules_dir(tmp_path: Path):
    """A wrong --rules-dir is an error, not an empty PrometheusRule that deletes all alerts."""
    status, _, stderr = generate("--rules-dir", str(tmp_path))
    assert status == 2
    assert "no *.yml rule files" in stderr


def test_gen_prometheusrule_check__notices_a_stale_manifest(tmp_path: Path):
    """--check fails when someone edited a rule file and forgot to regenerate."""
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "rules.yml").write_text(RECORDING, encoding="utf-8")
    stale = tmp_path / "prometheusrule.yaml"
    stale.write_text("kind: PrometheusRule\n", encoding="utf-8")
    status, _, stderr = generate("--rules-dir", str(rules_dir), "--check", "--output", str(stale))
    assert status == 1
    assert "out of date" in stderr


def test_prometheusrule__holds_exactly_the_groups_of_the_rule_files():
    """prometheus-operator evaluates the same alerts and recording rules as a plain Prometheus."""
    committed = load_yaml(COMMITTED)
    assert committed["spec"]["groups"] == groups_of_rule_files(RULES_DIR)


def test_prometheusrule__is_what_the_generator_writes():
    """The committed manifest is regenerated after every rule change (run the script if not)."""
    status, _, stderr = generate("--check")
    assert status == 0, stderr
