"""The Kubernetes manifests, as `kubectl apply -k` would send them.

Two kustomizations: deploy/kubernetes (one replica, a Deployment) and deploy/kubernetes-sharded
(the same objects with a StatefulSet of shards instead of the Deployment). Built-in kinds are
validated against the Kubernetes OpenAPI schemas that the PyPI package kubernetes-validate ships
(strict: unknown fields are errors); the prometheus-operator kinds against the schemas of the npm
package @kubernetes-models/prometheus-operator.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from monitor.config import ConfigError, load_settings
from monitor.fleet.scale_settings import Shard
from tests.deploy.tooling import DEPLOY, dockerfile_instructions, load_yaml, run, tool

SINGLE = DEPLOY / "kubernetes"
SHARDED = DEPLOY / "kubernetes-sharded"
KUSTOMIZATIONS = {"single": SINGLE, "sharded": SHARDED}
WORKLOAD_KIND = {"single": "Deployment", "sharded": "StatefulSet"}
# The newest Kubernetes minor the schemas cover, and one a year older that managed
# clusters still run.
KUBERNETES_VERSIONS = ("1.34.0", "1.37.0")
OPERATOR_GROUP = "monitoring.coreos.com"
SECRETS = {"STRIPE_SECRET_KEY", "WHATSAPP_ACCESS_TOKEN", "RESEND_API_KEY", "DATABASE_URL"}

Objects = list[dict[str, Any]]


@functools.cache
def build(directory: Path) -> tuple[dict[str, Any], ...]:
    """The objects `kubectl kustomize` builds from a kustomization (built once per run)."""
    result = run([tool("kubectl"), "kustomize", str(directory)])
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


@pytest.fixture(scope="module", params=list(KUSTOMIZATIONS))
def variant(request: pytest.FixtureRequest) -> str:
    """Each kustomization in turn: the tests that use it hold for both."""
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def rendered(variant: str) -> Objects:
    """The objects of the kustomization under test."""
    return list(build(KUSTOMIZATIONS[variant]))


@pytest.fixture(scope="module")
def sharded() -> Objects:
    """The objects `kubectl apply -k deploy/kubernetes-sharded` sends."""
    return list(build(SHARDED))


def by_kind(objects: Objects, kind: str) -> dict[str, Any]:
    [found] = [obj for obj in objects if obj["kind"] == kind]
    return found


def workload(objects: Objects) -> dict[str, Any]:
    """The Deployment or the StatefulSet, whichever the kustomization builds."""
    [found] = [obj for obj in objects if obj["kind"] in {"Deployment", "StatefulSet"}]
    return found


def pod_spec(objects: Objects) -> dict[str, Any]:
    spec: dict[str, Any] = workload(objects)["spec"]["template"]["spec"]
    return spec


def container(objects: Objects) -> dict[str, Any]:
    [only] = pod_spec(objects)["containers"]
    return only


def all_containers(objects: Objects) -> list[dict[str, Any]]:
    spec = pod_spec(objects)
    return [*spec.get("initContainers", []), *spec["containers"]]


def plain_env(spec: dict[str, Any]) -> dict[str, str]:
    """The variables a container sets in the manifest itself (not from a Secret)."""
    return {item["name"]: item["value"] for item in spec.get("env", []) if "value" in item}


def test_kustomization__lists_every_manifest(variant: str):
    """No manifest is silently left out of `kubectl apply -k`."""
    directory = KUSTOMIZATIONS[variant]
    kustomization = load_yaml(directory / "kustomization.yaml")
    listed = [*kustomization["resources"], *(p["path"] for p in kustomization.get("patches", []))]
    on_disk = {path.name for path in directory.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(name for name in listed if name.endswith(".yaml")) == sorted(on_disk)


def test_kustomization__builds_into_one_namespace(rendered: Objects, variant: str):
    """`kubectl kustomize` builds every object, all in the integration-monitor namespace."""
    kinds = sorted(obj["kind"] for obj in rendered)
    shared = ["Namespace", "PrometheusRule", "Service", "ServiceMonitor"]
    own = {"single": ["Deployment"], "sharded": ["PodDisruptionBudget", "StatefulSet"]}
    assert kinds == sorted(shared + own[variant])
    namespaced = [obj for obj in rendered if obj["kind"] != "Namespace"]
    assert {obj["metadata"]["namespace"] for obj in namespaced} == {"integration-monitor"}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_kubernetes_manifests__match_the_kubernetes_schema(rendered: Objects, version: str):
    """The API server accepts every built-in object: no unknown field, no wrong type."""
    built_in = [obj for obj in rendered if not obj["apiVersion"].startswith(OPERATOR_GROUP)]
    errors = []
    for obj in built_in:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as e:
            errors.append(f"{obj['kind']}: {getattr(e, 'message', e)}")
    assert not errors, "\n".join(errors)


def test_kubernetes_custom_resources__match_the_prometheus_operator_schema(rendered: Objects):
    """prometheus-operator accepts the ServiceMonitor and the PrometheusRule."""
    custom = [obj for obj in rendered if obj["apiVersion"].startswith(OPERATOR_GROUP)]
    assert len(custom) == 2
    npm_root = run([tool("npm"), "root", "--global"]).stdout.strip()
    script = Path(__file__).with_name("validate_crds.mjs")
    result = run([tool("node"), str(script), npm_root], input=json.dumps(custom))
    assert result.returncode == 0, result.stdout + result.stderr


def test_workload__probes_livez_and_readyz(rendered: Objects):
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


def test_workload__runs_as_the_image_user_on_a_read_only_root(rendered: Objects):
    """Every container passes the restricted Pod Security Standard with the image's own user."""
    pod = pod_spec(rendered)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == image_uid()
    for spec in all_containers(rendered):
        hardening = spec["securityContext"]
        assert hardening["readOnlyRootFilesystem"] is True, spec["name"]
        assert hardening["allowPrivilegeEscalation"] is False, spec["name"]
        assert hardening["capabilities"]["drop"] == ["ALL"], spec["name"]


def test_workload__takes_provider_secrets_from_a_secret(rendered: Objects):
    """Tokens come from a Secret, never from the manifest."""
    for spec in all_containers(rendered):
        assert spec["envFrom"] == [{"secretRef": {"name": "integration-monitor"}}]
        assert not set(plain_env(spec)) & SECRETS


def test_workload__requests_and_limits_memory_and_cpu(rendered: Objects):
    """The scheduler reserves room for the daemon and the kernel caps a runaway."""
    for spec in all_containers(rendered):
        for bound in ("requests", "limits"):
            assert set(spec["resources"][bound]) == {"cpu", "memory"}, spec["name"]


def test_service_monitor__scrapes_the_service_port(rendered: Objects):
    """Prometheus finds the Service, which finds the pods, and scrapes /metrics on its port."""
    service = by_kind(rendered, "Service")
    monitor = by_kind(rendered, "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    pod_labels = workload(rendered)["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    container_ports = {port["name"] for port in container(rendered)["ports"]}
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= container_ports


def test_kubernetes_secret__documented_command_builds_what_the_pod_reads(rendered: Objects):
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


def test_service_monitor__job_is_the_one_the_alert_rules_select(rendered: Objects):
    """Alerts and dashboard find the pods' series: the operator names the job after the Service."""
    scrape_configs = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")["scrape_configs"]
    monitor = by_kind(rendered, "ServiceMonitor")
    assert "jobLabel" not in monitor["spec"]
    service_name = by_kind(rendered, "Service")["metadata"]["name"]
    assert service_name in {config["job_name"] for config in scrape_configs}


# The sharded variant: what a user scaling out would trip over.


def shard_count(objects: Objects) -> int:
    return int(plain_env(container(objects))["MONITOR_SHARD_COUNT"])


def test_sharded__shard_count_equals_replicas(sharded: Objects):
    """Every shard has a pod and every pod a shard: MONITOR_SHARD_COUNT is the replica count."""
    statefulset = by_kind(sharded, "StatefulSet")
    assert statefulset["spec"]["replicas"] > 1
    assert shard_count(sharded) == statefulset["spec"]["replicas"]


def pod_settings(objects: Objects, pod_name: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The daemon's settings in a pod of that name, with a fleet Secret beside the manifest."""
    secret = {
        "MONITOR_ORGANIZATIONS_QUERY": "select id, name from organizations",
        "DATABASE_URL": "postgresql://monitor:s3cret-pw@db.example.com/app?sslmode=require",
        "MONITOR_API_TOKEN": "a-long-api-token",
    }
    # Kubernetes sets HOSTNAME to the pod's name; variables set in the manifest win over
    # the Secret's.
    for name, value in {**secret, **plain_env(container(objects)), "HOSTNAME": pod_name}.items():
        monkeypatch.setenv(name, value)
    return load_settings()


def test_sharded__each_pod_name_is_its_own_shard(sharded: Objects, monkeypatch: pytest.MonkeyPatch):
    """Pods integration-monitor-0 … n-1 are shards 0 … n-1 of n: together, every organization."""
    name = by_kind(sharded, "StatefulSet")["metadata"]["name"]
    count = shard_count(sharded)
    shards = [pod_settings(sharded, f"{name}-{k}", monkeypatch).shard for k in range(count)]
    assert shards == [Shard(k, count) for k in range(count)]


def test_sharded__a_pod_beyond_the_shard_count_refuses_to_start(
    sharded: Objects, monkeypatch: pytest.MonkeyPatch
):
    """Scaling up without raising MONITOR_SHARD_COUNT: the extra pod stops, saying why."""
    name = by_kind(sharded, "StatefulSet")["metadata"]["name"]
    count = shard_count(sharded)
    with pytest.raises(ConfigError, match="MONITOR_SHARD_COUNT"):
        pod_settings(sharded, f"{name}-{count}", monkeypatch)


def test_sharded__statefulset_names_the_headless_service(sharded: Objects):
    """Each shard gets a DNS name of its own through the headless Service its pods belong to."""
    statefulset = by_kind(sharded, "StatefulSet")
    service = by_kind(sharded, "Service")
    assert statefulset["spec"]["serviceName"] == service["metadata"]["name"]
    assert service["spec"]["clusterIP"] == "None"
    assert statefulset["spec"]["podManagementPolicy"] == "Parallel"


def test_sharded__disruption_budget_takes_one_shard_at_a_time(sharded: Objects):
    """A node drain evicts one shard, then waits for it before the next."""
    budget = by_kind(sharded, "PodDisruptionBudget")["spec"]
    pod_labels = workload(sharded)["spec"]["template"]["metadata"]["labels"]
    assert budget["maxUnavailable"] == 1
    assert budget["selector"]["matchLabels"].items() <= pod_labels.items()


def test_sharded__tables_are_migrated_before_the_daemon_starts(sharded: Objects):
    """The status sink's tables exist before a shard writes to them, from the same image."""
    [migrate] = pod_spec(sharded)["initContainers"]
    daemon = container(sharded)
    # A sink database that is down must not keep the shard, and its checks, from starting.
    assert migrate["args"] == ["migrate", "--keep-going"]
    assert migrate["image"] == daemon["image"]
    assert migrate["envFrom"] == daemon["envFrom"]
    assert plain_env(daemon)["MONITOR_STATUS_SINK"] == "postgres"
    assert plain_env(migrate)["MONITOR_STATUS_SINK"] == "postgres"


def test_sharded__pods_are_the_single_replica_pod_plus_shards(sharded: Objects):
    """A shard runs with the one replica's image, probes, hardening, resources and volumes."""
    single = list(build(SINGLE))
    assert pod_spec(sharded)["volumes"] == pod_spec(single)["volumes"]
    assert pod_spec(sharded)["securityContext"] == pod_spec(single)["securityContext"]
    shard, one = container(sharded), container(single)
    same = ("image", "args", "ports", "envFrom", "livenessProbe", "readinessProbe", "resources")
    for field in (*same, "securityContext", "volumeMounts"):
        assert shard[field] == one[field], field
    added = {"MONITOR_SHARD_COUNT", "MONITOR_STATUS_SINK"}
    assert plain_env(shard).keys() - plain_env(one).keys() == added
