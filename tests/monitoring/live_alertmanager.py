"""Debian's Alertmanager running on a free loopback port, driven through its v2 API."""

import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.monitoring.stack_binaries import require_tool

START_DEADLINE_SECONDS = 15.0
POLL_SECONDS = 0.05


def free_loopback_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], bool], deadline_seconds: float, what: str) -> None:
    """Poll `condition` until it holds; fail with `what` once the deadline passes."""
    deadline = time.monotonic() + deadline_seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {deadline_seconds} s waiting for {what}")
        time.sleep(POLL_SECONDS)


def _is_ready(base_url: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"Alertmanager exited with code {process.returncode} at start")
    try:
        return httpx.get(f"{base_url}/-/ready", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def running_alertmanager(config: Path, workdir: Path) -> Iterator[str]:
    """Run Alertmanager with `config` until the block ends; yield its base URL.

    Clustering is off (`--cluster.listen-address=`): otherwise it would listen on every
    interface. Its log goes to `workdir/alertmanager.log`.
    """
    binary = require_tool("prometheus-alertmanager", "alertmanager")
    base_url = f"http://127.0.0.1:{free_loopback_port()}"
    args = [
        binary,
        f"--config.file={config}",
        f"--storage.path={workdir}",
        f"--web.listen-address={base_url.removeprefix('http://')}",
        "--cluster.listen-address=",
    ]
    with (workdir / "alertmanager.log").open("wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: _is_ready(base_url, process), START_DEADLINE_SECONDS, "ready")
            yield base_url
        finally:
            process.terminate()
            process.wait(timeout=10)


def post_alerts(base_url: str, *label_sets: Mapping[str, str]) -> None:
    """Send firing alerts, as Prometheus would."""
    payload = [{"labels": dict(labels)} for labels in label_sets]
    httpx.post(f"{base_url}/api/v2/alerts", json=payload, timeout=5).raise_for_status()


def alert_status(base_url: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """Return the v2 API status of the one alert with exactly these labels."""
    alerts = httpx.get(f"{base_url}/api/v2/alerts", timeout=5).json()
    matching = [alert for alert in alerts if alert["labels"] == dict(labels)]
    assert len(matching) == 1, f"expected one alert with labels {labels}, found {len(matching)}"
    return dict(matching[0]["status"])


def is_inhibited(base_url: str, labels: Mapping[str, str]) -> bool:
    """Whether Alertmanager holds back the notification of this alert by an inhibit rule."""
    return bool(alert_status(base_url, labels)["inhibitedBy"])
