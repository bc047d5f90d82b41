"""The real daemon as a subprocess: started on a free port, polled until ready, stopped by
SIGTERM, its stderr kept for assertions on log lines."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.support.net import free_port

T = TypeVar("T")

# Variables that configure the monitor or a provider, and libpq's own (PGHOST, PGPASSWORD,
# PGSSLMODE...), which fill in whatever a DSN leaves out: a developer's real ones must never
# reach a test's daemon, CLI or database.
SCRUBBED_PREFIXES = ("WHATSAPP_", "STRIPE_", "RESEND_", "SUPABASE_", "DATABASE_", "MONITOR_", "PG")


def wait_for(
    condition: Callable[[], T | None],
    timeout: float = 15.0,
    interval: float = 0.05,
    *,
    what: str = "the condition",
) -> T:
    """Poll `condition` until it returns something truthy, or fail after `timeout` seconds
    with a message naming `what` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def subprocess_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a test's subprocess: this one without any provider, monitor or
    libpq variable, plus `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_PREFIXES)}
    return {**clean, **(env or {})}


def monitor_command() -> list[str]:
    """The installed console script, next to the interpreter running the tests."""
    script = Path(sys.executable).with_name("integration-monitor")
    return [str(script)] if script.exists() else [sys.executable, "-m", "monitor"]


@dataclass
class Daemon:
    """A running `integration-monitor run`."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    env: dict[str, str] = field(repr=False)
    _final_stderr: str | None = None

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """GET a path of the daemon."""
        return httpx.get(self.url + path, timeout=10, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        """POST to a path of the daemon."""
        return httpx.post(self.url + path, timeout=30, **kwargs)

    def stderr(self) -> str:
        """Everything the daemon wrote to stderr so far (kept after it is gone)."""
        if self._final_stderr is not None:
            return self._final_stderr
        return self.log_path.read_text(errors="replace")

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """The JSON log events so far, optionally only those called `name`."""
        events = [json.loads(line) for line in self.stderr().splitlines() if line.startswith("{")]
        return [e for e in events if name is None or e.get("event") == name]

    def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM, then wait for the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


def _ready(daemon: Daemon) -> bool:
    if daemon.process.poll() is not None:
        raise AssertionError(f"daemon exited early:\n{daemon.stderr()}")
    try:
        return daemon.get("/readyz").status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def running_daemon(env: dict[str, str], *, wait_ready: bool = True) -> Iterator[Daemon]:
    """Start the daemon with `env` (on top of a clean environment) on a free loopback port,
    in an empty working directory of its own (so no `.env` is read)."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="monitor-daemon-"))
    full_env = subprocess_env(
        {
            "MONITOR_HOST": "127.0.0.1",
            "MONITOR_PORT": str(port),
            "MONITOR_LOG_FORMAT": "json",
            **env,
        }
    )
    log_path = workdir / "stderr.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [*monitor_command(), "run"],
            env=full_env,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    daemon = Daemon(process, f"http://127.0.0.1:{port}", log_path, full_env)
    try:
        if wait_ready:
            wait_for(lambda: _ready(daemon), timeout=20)
        yield daemon
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        daemon._final_stderr = daemon.stderr()
        shutil.rmtree(workdir, ignore_errors=True)
