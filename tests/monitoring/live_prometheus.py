"""Debian's Prometheus running on a free loopback port, driven through its HTTP API."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.monitoring.stack_binaries import require_tool, running_server
from tests.support.net import free_port

START_DEADLINE_SECONDS = 20.0


@contextmanager
def running_prometheus(config: Path, workdir: Path) -> Iterator[str]:
    """Run Prometheus with `config` until the block ends; yield its base URL.

    Its TSDB lives in `workdir/data` and its log goes to `workdir/prometheus.log`. Alerts
    are re-sent to Alertmanager every second instead of every minute, so that an
    Alertmanager that missed the first notification hears about the alert soon.
    """
    binary = require_tool("prometheus")
    base_url = f"http://127.0.0.1:{free_port()}"
    log_path = workdir / "prometheus.log"
    args = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address={base_url.removeprefix('http://')}",
        "--rules.alert.resend-delay=1s",
    ]
    with running_server("Prometheus", args, base_url, log_path, START_DEADLINE_SECONDS):
        yield base_url


def api_get(base_url: str, path: str, **params: str) -> dict[str, Any]:
    """GET an `/api/v1/...` path and return its JSON body, whatever its status."""
    response = httpx.get(f"{base_url}/api/v1/{path}", params=params, timeout=5)
    return dict(response.json())


def instant_query(base_url: str, expr: str) -> dict[str, Any]:
    """Evaluate `expr` now; return the whole API answer (`status`, `data` or `error`)."""
    return api_get(base_url, "query", query=expr)


def alerts(base_url: str) -> list[dict[str, Any]]:
    """The alerts Prometheus holds now (pending and firing), as `/api/v1/alerts` lists them."""
    return list(api_get(base_url, "alerts")["data"]["alerts"])


def firing(base_url: str, alertname: str) -> list[dict[str, Any]]:
    """The firing alerts called `alertname`."""
    return [
        alert
        for alert in alerts(base_url)
        if alert["labels"].get("alertname") == alertname and alert["state"] == "firing"
    ]


def healthy_targets(base_url: str, job: str) -> list[dict[str, Any]]:
    """The active scrape targets of `job` whose last scrape succeeded."""
    targets = api_get(base_url, "targets", state="active")["data"]["activeTargets"]
    return [t for t in targets if t["labels"].get("job") == job and t["health"] == "up"]
