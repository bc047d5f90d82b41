"""Measures the daemon against fake providers on loopback.

Prints: cycle time against the slowest check, the latency of /metrics and the status API
while one provider hangs, and the process RSS after start. Run from the repository root:

    .venv/bin/python -m bench.daemon_latency
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import httpx

from tests.fakes import providers
from tests.fakes.server import FakeServer, Reply
from tests.support.daemon import Daemon, running_daemon, wait_for

REQUESTS = 200
SLOWEST_SECONDS = 0.8


def delayed(reply: Reply, seconds: float) -> Reply:
    """The same answer, after `seconds`."""
    return Reply(reply.status, reply.body, reply.headers, delay=seconds)


def rss_mib(pid: int) -> float:
    """Resident set size of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def latencies_ms(daemon: Daemon, path: str) -> list[float]:
    """Wall time of REQUESTS sequential GETs over one keep-alive connection."""
    timings = []
    with httpx.Client(base_url=daemon.url, timeout=10) as client:
        for _ in range(REQUESTS):
            started = time.perf_counter()
            assert client.get(path).status_code == 200
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def describe(timings: list[float]) -> str:
    """p50 / p99 / max of a list of milliseconds."""
    ordered = sorted(timings)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return f"p50 {statistics.median(ordered):.2f} ms, p99 {p99:.2f} ms, max {ordered[-1]:.2f} ms"


def cycle_seconds(daemon: Daemon) -> float:
    """Mean cycle wall time from the daemon's own histogram."""
    samples = {}
    for line in daemon.get("/metrics").text.splitlines():
        if line.startswith("integration_monitor_cycle_duration_seconds_"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    count = samples["integration_monitor_cycle_duration_seconds_count"]
    return samples["integration_monitor_cycle_duration_seconds_sum"] / count


def main() -> None:
    """Run the measurements and print them."""
    server = FakeServer().start()
    providers.serve_healthy_providers(server)
    server.route(providers.WABA_PATH, delayed(providers.graph_account(), SLOWEST_SECONDS))
    server.route(providers.CUSTOMER_PATH, delayed(providers.stripe_customer(), 0.3))
    server.route("/domains", delayed(providers.resend_domains("verified"), 0.2))
    server.route(providers.TABLE_PATH, delayed(providers.postgrest_rows(), 0.1))
    env = {
        **providers.provider_env(server),
        "MONITOR_INTERVAL_SECONDS": "5",
        "MONITOR_CHECK_TIMEOUT_SECONDS": "2",
    }
    try:
        with running_daemon(env) as daemon:
            print(f"RSS after first cycle: {rss_mib(daemon.process.pid):.1f} MiB")
            body = daemon.get("/api/integrations/status").json()
            slowest = max(e["duration_ms"] for e in body["integrations"].values())
            delay_ms = SLOWEST_SECONDS * 1000
            print(
                f"first cycle: {cycle_seconds(daemon) * 1000:.0f} ms,"
                f" slowest check {slowest:.0f} ms (provider delay {delay_ms:.0f} ms)"
            )
            server.route(providers.WABA_PATH, Reply(hang=True))
            wait_for(
                lambda: (
                    daemon.get("/api/integrations/status").json()["integrations"]["whatsapp"][
                        "status"
                    ]
                    == "error"
                ),
                timeout=30,
            )
            print(
                f"/metrics while WhatsApp hangs ({REQUESTS} requests):"
                f" {describe(latencies_ms(daemon, '/metrics'))}"
            )
            print(
                f"/api/integrations/status while WhatsApp hangs ({REQUESTS} requests):"
                f" {describe(latencies_ms(daemon, '/api/integrations/status'))}"
            )
            print(f"RSS at the end: {rss_mib(daemon.process.pid):.1f} MiB")
            daemon.terminate()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
