"""Debian's Prometheus and Alertmanager binaries, found on PATH or failing loudly."""

import shutil
import subprocess

import pytest

from tests.monitoring.stack_files import REPO_ROOT

# The Debian package that installs each binary; scripts/test installs them.
DEBIAN_PACKAGE = {
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "amtool": "prometheus-alertmanager",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "alertmanager": "prometheus-alertmanager",
}


def require_tool(*names: str) -> str:
    """Return the path of the first of `names` on PATH, or fail the test.

    A missing binary fails rather than skips: a skipped rule test would let broken alerts
    ship with a green run.
    """
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    packages = sorted({DEBIAN_PACKAGE.get(name, name) for name in names})
    pytest.fail(
        f"{' or '.join(names)} not found on PATH: install the Debian package(s) "
        f"{', '.join(packages)} (scripts/test does)",
        pytrace=False,
    )


def run_tool(name: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a binary from the repository root and capture its output."""
    return subprocess.run(
        [require_tool(name), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_tool_succeeds(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a binary and fail with its output unless it exits 0."""
    result = run_tool(name, *args)
    assert result.returncode == 0, (
        f"{name} {' '.join(args)} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    return result
