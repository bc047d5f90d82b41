"""Fleet mode at scale: the daemon against a fast local fake of the Graph API and Stripe.

Prints, in one run: CPU per check (whole daemon process, steady state; WhatsApp and Stripe
apart), the same for Prometheus blackbox_exporter probing the same fake, the share of one core
at 20,000 checks per 300 s, RSS at 10,000 organizations and idle in platform mode, the busiest
1-second window per provider against its budget, round times, /metrics series and render time
at 200 and 10,000 organizations, and the latency of one organization's status at 100 requests/s.

    python -m bench.fleet                   # about six minutes
    python -m bench.fleet --seconds 30      # shorter windows, rougher numbers
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import yaml

from tests.support.daemon import Daemon, running_daemon, wait_for
from tests.support.net import free_port

TICKS = os.sysconf("SC_CLK_TCK")
BLACKBOX = Path("/usr/bin/prometheus-blackbox-exporter")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mib(pid: int) -> float:
    """Resident set size of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@contextlib.contextmanager
def fast_fake() -> Iterator[str]:
    """The fast fake in a process of its own; yields its base URL."""
    port = free_port()
    # The fake stands for the providers' own machines: given a head start on the two cores, it
    # stamps arrivals when they arrive, not when it next gets the CPU.
    process = subprocess.Popen([sys.executable, "-m", "bench.fast_fake", str(port)])
    with contextlib.suppress(PermissionError):
        os.setpriority(os.PRIO_PROCESS, process.pid, -10)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url + "/_stats"), timeout=10)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def organizations_file(folder: Path, count: int) -> Path:
    """`count` organizations, each with a WABA and a Stripe customer."""
    rows = [
        {
            "id": f"org-{n:06}",
            "whatsapp_business_account_id": str(10_000_000 + n),
            "stripe_customer_id": f"cus_bench{n:06}",
        }
        for n in range(count)
    ]
    path = folder / f"organizations-{count}.yaml"
    path.write_text(yaml.safe_dump(rows), encoding="utf-8")
    return path


def fleet_env(fake: str, organizations: Path, **extra: str) -> dict[str, str]:
    """Fleet mode against the fake, budgets raised to 40/s."""
    return {
        "MONITOR_ORGANIZATIONS_FILE": str(organizations),
        "MONITOR_INTEGRATIONS": "whatsapp,stripe",
        "WHATSAPP_ACCESS_TOKEN": "EAAGbenchToken",
        "WHATSAPP_GRAPH_API_URL": fake,
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_API_URL": fake,
        "MONITOR_WHATSAPP_MAX_RPS": "40",
        "MONITOR_STRIPE_MAX_RPS": "40",
        "MONITOR_ORGANIZATION_INTERVAL_SECONDS": "300",
        "MONITOR_LOG_LEVEL": "warning",
        **extra,
    }


def checks_so_far(daemon: Daemon) -> dict[str, float]:
    """integration_organization_checks_total per integration."""
    counts = {}
    for line in daemon.get("/metrics").text.splitlines():
        if line.startswith("integration_organization_checks_total{"):
            integration = line.split('"')[1]
            counts[integration] = float(line.rsplit(" ", 1)[1])
    return counts


def steady_window(daemon: Daemon, warmup: float, seconds: float) -> dict[str, float]:
    """CPU seconds, wall seconds and checks per integration over a window after warm-up."""
    time.sleep(warmup)
    pid = daemon.process.pid
    cpu, wall, checks = cpu_seconds(pid), time.monotonic(), checks_so_far(daemon)
    time.sleep(seconds)
    after = checks_so_far(daemon)
    result = {
        "cpu": cpu_seconds(pid) - cpu,
        "wall": time.monotonic() - wall,
        "rss": rss_mib(pid),
    }
    for integration, count in after.items():
        result[integration] = count - checks.get(integration, 0.0)
    return result


def cpu_per_check(
    fake: str, organizations: Path, integration: str, args: argparse.Namespace
) -> float:
    """Milliseconds of daemon CPU per check of one integration, the other left out."""
    env = fleet_env(fake, organizations, MONITOR_INTEGRATIONS=integration)
    with running_daemon(env) as daemon:
        window = steady_window(daemon, args.warmup, args.seconds)
    return window["cpu"] / window[integration] * 1000


def metrics_cost(daemon: Daemon) -> tuple[int, float]:
    """Series on /metrics and the median render time of 20 scrapes, in ms."""
    timings = []
    text = ""
    with httpx.Client(base_url=daemon.url, timeout=10) as client:
        for _ in range(20):
            started = time.perf_counter()
            text = client.get("/metrics").text
            timings.append((time.perf_counter() - started) * 1000)
    series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    return series, statistics.median(timings)


def status_latency(daemon: Daemon, organizations: int, rate: float, seconds: float) -> list[float]:
    """Latency of GET one organization's status, paced at `rate` requests per second."""
    timings = []
    with httpx.Client(base_url=daemon.url, timeout=10) as client:
        start = time.perf_counter()
        for n in range(int(rate * seconds)):
            due = start + n / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            organization = f"org-{(n * 7919) % organizations:06}"
            sent = time.perf_counter()
            response = client.get(f"/api/organizations/{organization}/integrations/status")
            assert response.status_code == 200
            timings.append((time.perf_counter() - sent) * 1000)
    return timings


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)]


def blackbox_cpu_per_probe(fake: str, rate: float, seconds: float) -> float | None:
    """Milliseconds of blackbox_exporter CPU per HTTP probe of the same fake."""
    if not BLACKBOX.exists():
        return None
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "blackbox.yml"
        config.write_text(yaml.safe_dump({"modules": {"http_2xx": {"prober": "http"}}}))
        process = subprocess.Popen(
            [str(BLACKBOX), f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: _answers(base + "/-/healthy"), timeout=10)
            probe = f"/probe?module=http_2xx&target={fake}/blackbox/v25.0/10000001"
            with httpx.Client(base_url=base, timeout=10) as client:
                cpu, count, start = cpu_seconds(process.pid), 0, time.perf_counter()
                while time.perf_counter() - start < seconds:
                    time.sleep(max(0.0, start + count / rate - time.perf_counter()))
                    assert "probe_success 1" in client.get(probe).text
                    count += 1
                return (cpu_seconds(process.pid) - cpu) / count * 1000
        finally:
            process.terminate()
            process.wait(timeout=10)


def platform_idle_rss(fake: str) -> float:
    """RSS of the daemon in platform mode (no organization source) after its first cycle."""
    env = {
        "WHATSAPP_ACCESS_TOKEN": "EAAGbenchToken",
        "WHATSAPP_BUSINESS_ACCOUNT_ID": "10000001",
        "WHATSAPP_GRAPH_API_URL": fake,
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_CUSTOMER_ID": "cus_bench000001",
        "STRIPE_API_URL": fake,
        "MONITOR_INTEGRATIONS": "whatsapp,stripe,database",
        "DATABASE_URL": "postgresql://monitor@127.0.0.1:1/monitor",
    }
    with running_daemon(env) as daemon:
        time.sleep(5)
        return rss_mib(daemon.process.pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--organizations", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=60.0, help="each measuring window")
    parser.add_argument("--warmup", type=float, default=15.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, fast_fake() as fake:
        big = organizations_file(Path(folder), args.organizations)
        small = organizations_file(Path(folder), 200)
        report(fake, big, small, args)


def report(fake: str, big: Path, small: Path, args: argparse.Namespace) -> None:
    print(
        f"machine: {os.cpu_count()} cores; {args.organizations} organizations;"
        f" windows of {args.seconds:g} s"
    )
    print(f"idle RSS, platform mode: {platform_idle_rss(fake):.1f} MiB")
    whatsapp = cpu_per_check(fake, big, "whatsapp", args)
    stripe = cpu_per_check(fake, big, "stripe", args)
    print(f"CPU per check: whatsapp {whatsapp:.2f} ms, stripe {stripe:.2f} ms")
    blackbox = blackbox_cpu_per_probe(fake, 40, args.seconds / 2)
    if blackbox is None:
        print("blackbox_exporter: not installed (apt-get install prometheus-blackbox-exporter)")
    else:
        print(
            f"blackbox_exporter CPU per probe: {blackbox:.2f} ms;"
            f" whatsapp / blackbox = {whatsapp / blackbox:.2f}x"
        )
    with running_daemon(fleet_env(fake, big)) as daemon:
        window = steady_window(daemon, args.warmup, args.seconds)
        rate = (window["whatsapp"] + window["stripe"]) / window["wall"]
        print(
            f"both integrations: {rate:.1f} checks/s ({rate * 300:.0f} per 300 s),"
            f" {window['cpu'] / window['wall'] * 100:.1f} % of one core,"
            f" RSS {window['rss']:.1f} MiB"
        )
        series, render_ms = metrics_cost(daemon)
        print(
            f"/metrics at {args.organizations} organizations: {series} series,"
            f" render {render_ms:.1f} ms"
        )
        timings = status_latency(daemon, args.organizations, 100, min(args.seconds, 20))
        print(
            f"GET organization status at 100/s: p50 {statistics.median(timings):.2f} ms,"
            f" p99 {percentile(timings, 0.99):.2f} ms"
        )
    stats = httpx.get(fake + "/_stats").json()
    for provider, seen in stats.items():
        print(
            f"busiest 1-s window at the fake, {provider}: {seen['max_in_any_second']} (budget 40);"
            f" arrivals under 10 ms apart: {seen['gaps_under_10ms']}"
        )
    with running_daemon(fleet_env(fake, small)) as daemon:
        series, render_ms = metrics_cost(daemon)
        print(f"/metrics at 200 organizations: {series} series, render {render_ms:.1f} ms")
    print_rounds(fake, big.parent)


def print_rounds(fake: str, folder: Path) -> None:
    """1,000 organizations every 20 s at 40 requests/s: rounds stretch to about 25 s."""
    organizations = organizations_file(folder, 1000)
    env = fleet_env(
        fake, organizations, MONITOR_ORGANIZATION_INTERVAL_SECONDS="20", MONITOR_LOG_LEVEL="info"
    )
    with running_daemon(env) as daemon:

        def rounds() -> dict[str, float] | None:
            found = {}
            for line in daemon.get("/metrics").text.splitlines():
                if line.startswith("integration_organization_round_seconds{"):
                    found[line.split('"')[1]] = float(line.rsplit(" ", 1)[1])
            return found if found and all(found.values()) else None

        measured = wait_for(rounds, timeout=120, interval=1)
        stretched = daemon.events("fleet.round_stretched")
    for integration, seconds in measured.items():
        print(f"round time, 1000 organizations every 20 s at 40/s, {integration}: {seconds:.1f} s")
    print(f"stretch warnings: {len(stretched)}")


if __name__ == "__main__":
    main()
