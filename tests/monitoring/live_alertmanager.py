"""Debian's Alertmanager running on a free loopback port, driven through its v2 API."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.monitoring.stack_binaries import require_tool, running_server
from tests.support.net import free_port

START_DEADLINE_SECONDS = 15.0


@contextmanager
def running_alertmanager(config: Path, workdir: Path) -> Iterator[str]:
    """Run Alertmanager with `config` until the block ends; yield its base URL.

    Clustering is off (`--cluster.listen-address=`): otherwise it would listen on every
    interface. Its log goes to `workdir/alertmanager.log`.
    """
    binary = require_tool("prometheus-alertmanager", "alertmanager")
    base_url = f"http://127.0.0.1:{free_port()}"
    args = [
        binary,
        f"--config.file={config}",
        f"--storage.path={workdir}",
        f"--web.listen-address={base_url.removeprefix('http://')}",
        "--cluster.listen-address=",
    ]
    log = workdir / "alertmanager.log"
    with running_server("Alertmanager", args, base_url, log, START_DEADLINE_SECONDS):
        yield base_url


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
