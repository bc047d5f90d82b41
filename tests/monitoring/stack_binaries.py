"""Debian's Prometheus and Alertmanager binaries: found on PATH or failing loudly, then run
once or as a server on a free loopback port."""

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.monitoring.stack_files import REPO_ROOT
from tests.support.daemon import wait_for

# scripts/test unpacks the Debian packages here instead of installing them, so that no
# Prometheus or Alertmanager service is ever started on the host; tests/conftest.py puts
# this folder on PATH.
STACK_BIN_DIR = REPO_ROOT / ".cache" / "stack" / "usr" / "bin"

# The Debian package that holds each binary.
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
        f"{', '.join(packages)}, or run scripts/test, which unpacks them into "
        f"{STACK_BIN_DIR.relative_to(REPO_ROOT)}",
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


def _is_ready(name: str, base_url: str, process: subprocess.Popen[bytes], log: Path) -> bool:
    if process.poll() is not None:
        raise AssertionError(
            f"{name} exited with code {process.returncode} at start:\n"
            f"{log.read_text(errors='replace')}"
        )
    try:
        return httpx.get(f"{base_url}/-/ready", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def running_server(
    name: str, args: list[str], base_url: str, log: Path, start_deadline_seconds: float
) -> Iterator[None]:
    """Run a server binary until the block ends, once its `/-/ready` at `base_url` answers 200.

    Its output goes to `log`; a server that exits at start fails the test with that log.
    """
    with log.open("wb") as output:
        process = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT)
        try:
            wait_for(
                lambda: _is_ready(name, base_url, process, log),
                start_deadline_seconds,
                what=f"{name} to be ready",
            )
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
