"""The Kubernetes manifests, as `kubectl apply -k deploy/kubernetes` would send them.

Built-in kinds are validated against the Kubernetes OpenAPI schemas that the PyPI package
kubernetes-validate ships (strict: unknown fields are errors); the prometheus-operator kinds
against the schemas of the npm package @kubernetes-models/prometheus-operator.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.tooling import DEPLOY, dockerfile_instructions, load_yaml, run, tool

MANIFESTS = DEPLOY / "kubernetes"
# The newest Kubernetes minor the schemas cover, and one a year older that managed
# clusters still run.
KUBERNETES_VERSIONS = ("1.34.0", "1.37.0")
OPERATOR_GROUP = "monitoring.coreos.com"


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    """The objects `kubectl kustomize` builds from the kustomization."""
    result = run([tool("kubectl"), "kustomize", str(MANIFESTS)])
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [found] = [obj for obj in objects if obj["kind"] == kind]
    return found


def test_kustomization__lists_every_manifest():
    """No manifest in deploy/kubernetes is silently left out of `kubectl apply -k`."""
    resources = load_yaml(MANIFESTS / "kustomization.yaml")["resources"]
    on_disk = {path.name for path in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(resources) == sorted(on_disk)


def test_kustomization__builds_into_one_namespace(rendered: list[dict[str, Any]]):
    """`kubectl kustomize` builds every object, all in the integration-monitor namespace."""
    kinds = sorted(obj["kind"] for obj in rendered)
    expected = ["Deployment", "Namespace", "PrometheusRule", "Service", "ServiceMonitor"]
    assert kinds == expected
    namespaced = [obj for obj in rendered if obj["kind"] != "Namespace"]
    assert {obj["metadata"]["namespace"] for obj in namespaced} == {"integration-monitor"}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_kubernetes_manifests__match_the_kubernetes_schema(
    rendered: list[dict[str, Any]], version: str
):
    """The API server accepts every built-in object: no unknown field, no wrong type."""
    built_in = [obj for obj in rendered if not obj["apiVersion"].startswith(OPERATOR_GROUP)]
    errors = []
    for obj in built_in:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as e:
            errors.append(f"{obj['kind']}: {getattr(e, 'message', e)}")
    assert not errors, "\n".join(errors)


def test_kubernetes_custom_resources__match_the_prometheus_operator_schema(
    rendered: list[dict[str, Any]],
):
    """prometheus-operator accepts the ServiceMonitor and the PrometheusRule."""
    custom = [obj for obj in rendered if obj["apiVersion"].startswith(OPERATOR_GROUP)]
    assert len(custom) == 2
    npm_root = run([tool("npm"), "root", "--global"]).stdout.strip()
    script = Path(__file__).with_name("validate_crds.mjs")
    result = run([tool("node"), str(script), npm_root], input=json.dumps(custom))
    assert result.returncode == 0, result.stdout + result.stderr


def container(rendered: list[dict[str, Any]]) -> dict[str, Any]:
    [only] = by_kind(rendered, "Deployment")["spec"]["template"]["spec"]["containers"]
    return only


def test_deployment__probes_livez_and_readyz(rendered: list[dict[str, Any]]):
    """Kubernetes restarts a stuck daemon (/livez) and routes only to a warmed-up one (/readyz)."""
    probes = container(rendered)
    assert probes["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
    assert probes["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def image_uid() -> int:
    """The numeric user the image runs as (the Dockerfile's MONITOR_UID)."""
    [uid] = [
        arguments.split("=")[1]
        for keyword, arguments in dockerfile_instructions()
        if keyword == "ARG" and arguments.startswith("MONITOR_UID=")
    ]
    return int(uid)


def test_deployment__runs_as_the_image_user_on_a_read_only_root(rendered: list[dict[str, Any]]):
    """The pod passes the restricted Pod Security Standard with the image's own user."""
    pod = by_kind(rendered, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == image_uid()
    hardening = container(rendered)["securityContext"]
    assert hardening["readOnlyRootFilesystem"] is True
    assert hardening["allowPrivilegeEscalation"] is False
    assert hardening["capabilities"]["drop"] == ["ALL"]


def test_deployment__takes_provider_secrets_from_a_secret(rendered: list[dict[str, Any]]):
    """Tokens come from a Secret, never from the manifest."""
    spec = container(rendered)
    assert spec["envFrom"] == [{"secretRef": {"name": "integration-monitor"}}]
    plain_names = {item["name"] for item in spec.get("env", []) if "value" in item}
    assert not plain_names & {"STRIPE_SECRET_KEY", "WHATSAPP_ACCESS_TOKEN", "RESEND_API_KEY"}


def test_deployment__requests_and_limits_memory_and_cpu(rendered: list[dict[str, Any]]):
    """The scheduler reserves room for the daemon and the kernel caps a runaway."""
    resources = container(rendered)["resources"]
    for bound in ("requests", "limits"):
        assert set(resources[bound]) == {"cpu", "memory"}


def test_service_monitor__scrapes_the_service_port(rendered: list[dict[str, Any]]):
    """Prometheus finds the Service and scrapes /metrics on its named port."""
    service = by_kind(rendered, "Service")
    monitor = by_kind(rendered, "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"


def test_kubernetes_secret__documented_command_builds_what_the_pod_reads(
    rendered: list[dict[str, Any]],
):
    """`kubectl create secret ... --from-env-file` on the example gives the Secret the pod needs."""
    env_example = DEPLOY / "compose" / ".env.example"
    command = [tool("kubectl"), "create", "secret", "generic", "integration-monitor"]
    options = [f"--from-env-file={env_example}", "--dry-run=client", "--output=json"]
    result = run([*command, "--namespace=integration-monitor", *options])
    assert result.returncode == 0, result.stderr
    secret = json.loads(result.stdout)
    kubernetes_validate.validate(secret, KUBERNETES_VERSIONS[-1], strict=True)
    [source] = container(rendered)["envFrom"]
    assert secret["metadata"]["name"] == source["secretRef"]["name"]
    assert "STRIPE_SECRET_KEY" in secret["data"]


def test_service_monitor__job_is_the_one_the_alert_rules_select(rendered: list[dict[str, Any]]):
    """Alerts and dashboard find the pod's series: the operator names the job after the Service."""
    scrape_configs = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")["scrape_configs"]
    monitor = by_kind(rendered, "ServiceMonitor")
    assert "jobLabel" not in monitor["spec"]
    service_name = by_kind(rendered, "Service")["metadata"]["name"]
    assert service_name in {config["job_name"] for config in scrape_configs}
