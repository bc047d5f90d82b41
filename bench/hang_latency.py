"""Latency of /metrics and the status API while every provider hangs.

The real daemon runs as a subprocess against fake providers on 127.0.0.1 that accept and never
answer; a check cycle is in flight three quarters of the time. Each path is asked many times,
one request after another over one keep-alive connection. Run from the repository root:

    python -m bench.hang_latency
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import httpx

from bench.daemon_latency import describe, rss_mib
from tests.fakes.providers import provider_env
from tests.fakes.server import FakeServer, Reply
from tests.faults.wiring import PROVIDER_PATHS
from tests.support.daemon import Daemon, running_daemon, wait_for

INTERVAL_SECONDS = 2.0
DEADLINE_SECONDS = 1.5
PATHS = ("/metrics", "/api/integrations/status")


def all_timed_out(daemon: Daemon) -> bool:
    """Every integration reports the timeout of its hanging provider."""
    integrations = daemon.get("/api/integrations/status").json()["integrations"]
    return all(entry.get("reason") == "timeout" for entry in integrations.values())


def timings_ms(client: httpx.Client, path: str, requests: int) -> list[float]:
    """Wall time of `requests` sequential GETs of `path`, in milliseconds."""
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return timings


def main() -> None:
    """Start hanging providers and the daemon, measure, print."""
    parser = argparse.ArgumentParser(prog="python -m bench.hang_latency")
    parser.add_argument("--requests", type=int, default=500, help="requests per path")
    args = parser.parse_args()
    server = FakeServer().start()
    for path in PROVIDER_PATHS.values():
        server.route(path, Reply(hang=True))
    env = {
        **provider_env(server),
        "MONITOR_INTERVAL_SECONDS": str(INTERVAL_SECONDS),
        "MONITOR_CHECK_TIMEOUT_SECONDS": str(DEADLINE_SECONDS),
    }
    print(
        f"python -m bench.hang_latency --requests {args.requests}"
        f"  (interval {INTERVAL_SECONDS:g} s, check deadline {DEADLINE_SECONDS:g} s)"
    )
    try:
        with running_daemon(env) as daemon:
            wait_for(lambda: all_timed_out(daemon), timeout=30)
            with httpx.Client(base_url=daemon.url, timeout=10) as client:
                for path in PATHS:
                    timings_ms(client, path, 20)  # warm the connection and the code path
                    measured = timings_ms(client, path, args.requests)
                    print(f"{path:<28} {args.requests} requests: {describe(measured)}")
            fds = len(list(Path(f"/proc/{daemon.process.pid}/fd").iterdir()))
            print(f"daemon RSS {rss_mib(daemon.process.pid):.1f} MiB, open fds {fds}")
            daemon.terminate()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
