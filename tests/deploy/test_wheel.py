"""The package as a user installs it: a wheel, in a fresh virtual environment.

The wheel is built from a copy of exactly the files the Dockerfile's build stage copies, so
this also proves the container build has everything it needs (and keeps build/ and
*.egg-info out of the work tree).

The fresh venv gets only the wheel (--no-deps). Its dependencies come from the environment
running the tests, through a .pth file that puts that environment's site-packages after the
venv's own: that needs no network, and the venv's copy of `monitor` (the wheel's) comes first.
`--system-site-packages` would not do: when the tests run in a venv, it exposes the base
interpreter's packages, not the venv's.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from tests.deploy.tooling import (
    DEPLOY,
    REPO_ROOT,
    dockerfile_healthcheck_command,
    dockerfile_instructions,
    run,
)
from tests.support.daemon import subprocess_env, wait_for
from tests.support.net import free_port

INTEGRATIONS = {"whatsapp", "stripe", "email", "database"}
EXIT_PARTIAL = 1  # Nagios convention: 1 = warning, here "partial"


def build_context_copy(destination: Path) -> Path:
    """The files the Dockerfile's build stage copies from the context, and nothing else."""
    destination.mkdir()
    for keyword, arguments in dockerfile_instructions():
        if keyword != "COPY" or "--from" in arguments:
            continue
        for source in arguments.split()[:-1]:
            origin = REPO_ROOT / source
            if origin.is_dir():
                ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
                shutil.copytree(origin, destination / source, ignore=ignore)
            else:
                shutil.copy2(origin, destination / source)
    return destination


def run_checked(args: list[str]) -> str:
    result = run(args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def build_wheel(source: Path, dist: Path) -> Path:
    # Build isolation fetches the build backend (setuptools) from the package index, or
    # from pip's cache when it was fetched before.
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir"]
    result = run([*command, str(dist), str(source)])
    assert result.returncode == 0, result.stderr
    [wheel] = dist.glob("integration_monitor-*.whl")
    return wheel


def fresh_venv_with(wheel: Path, venv: Path) -> Path:
    """A new venv holding the wheel; returns its bin directory."""
    run_checked([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    site_packages = run_checked(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    )
    test_env = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site_packages.strip()) / "test_environment.pth").write_text(
        "".join(f"{path}\n" for path in sorted(test_env)), encoding="utf-8"
    )
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    run_checked([*pip, "--no-deps", "--no-index", str(wheel)])
    return venv / "bin"


@pytest.fixture(scope="module")
def venv_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin directory of a fresh venv with the freshly built wheel installed."""
    root = tmp_path_factory.mktemp("wheel")
    source = build_context_copy(root / "src")
    wheel = build_wheel(source, root / "dist")
    return fresh_venv_with(wheel, root / "venv")


@pytest.fixture
def clean_env() -> dict[str, str]:
    """The environment with no provider configured, as on a freshly provisioned host."""
    return subprocess_env()


def project_version() -> str:
    with (REPO_ROOT / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def check_json(venv_bin: Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run([str(venv_bin / "integration-monitor"), "check", "--json"], cwd=cwd, env=env)


def assert_all_not_configured(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == EXIT_PARTIAL, result.stderr
    snapshot = json.loads(result.stdout)
    assert snapshot["overall_status"] == "partial"
    assert snapshot["integrations"].keys() == INTEGRATIONS
    statuses = {name: entry["status"] for name, entry in snapshot["integrations"].items()}
    assert set(statuses.values()) == {"not_configured"}, statuses


def test_wheel__installs_the_package_not_the_source_tree(venv_bin: Path, tmp_path: Path):
    """The installed program runs from the wheel's files, so a module left out would show."""
    # -I and a neutral working directory: neither the checkout nor PYTHONPATH may supply it.
    code = "import monitor; print(monitor.__file__)"
    result = run([str(venv_bin / "python"), "-I", "-c", code], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(venv_bin.parent)


def test_wheel__version_is_the_project_version(venv_bin: Path, clean_env: dict[str, str]):
    """`integration-monitor --version` prints the version from pyproject.toml."""
    result = run([str(venv_bin / "integration-monitor"), "--version"], env=clean_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"integration-monitor {project_version()}"


def test_wheel_check__without_providers_is_partial(
    venv_bin: Path, tmp_path: Path, clean_env: dict[str, str]
):
    """With nothing configured, `check --json` exits 1 and lists four not_configured."""
    assert_all_not_configured(check_json(venv_bin, tmp_path, clean_env))


def test_wheel_check__with_the_unfilled_env_example_is_partial(
    venv_bin: Path, tmp_path: Path, clean_env: dict[str, str]
):
    """`cp .env.example .env` and no edits: empty values count as unset, not as bad config."""
    shutil.copy(DEPLOY / "compose" / ".env.example", tmp_path / ".env")
    assert_all_not_configured(check_json(venv_bin, tmp_path, clean_env))


def test_wheel_daemon__passes_the_image_healthcheck_and_stops_cleanly(
    venv_bin: Path, tmp_path: Path, clean_env: dict[str, str]
):
    """The image's HEALTHCHECK turns healthy on the real daemon, and `docker stop` exits 0."""
    port = free_port()
    env = {**clean_env, "MONITOR_HOST": "127.0.0.1", "MONITOR_PORT": str(port)}
    daemon = subprocess.Popen(
        [str(venv_bin / "integration-monitor"), "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # The check as the container runs it: the image's interpreter, the image's command.
    healthcheck = [str(venv_bin / "python"), *dockerfile_healthcheck_command()[1:]]
    try:
        wait_for(lambda: run(healthcheck, env=env).returncode == 0, timeout=20, interval=0.2)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=15) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait(timeout=10)


def test_wheel__ships_the_status_page(venv_bin: Path, tmp_path: Path):
    """The page's HTML, CSS and JavaScript are in the wheel: `/` works from an installed copy."""
    code = (
        "from importlib import resources; page = resources.files('monitor.page'); "
        "print(*(n for n in ('index.html', 'page.css', 'page.js') if page.joinpath(n).is_file()))"
    )
    result = run([str(venv_bin / "python"), "-I", "-c", code], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["index.html", "page.css", "page.js"]
