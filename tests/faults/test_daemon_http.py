"""The daemon's HTTP side while every provider hangs, under clients that misbehave: slowloris,
oversized headers, unknown methods, a 20 MB request body. Others keep being answered from
cache, the misbehaving client gets a plain 4xx or a closed connection, and no traceback."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.fakes.providers import provider_env
from tests.fakes.server import FakeServer, Reply
from tests.faults.wiring import PROVIDER_PATHS
from tests.support.daemon import Daemon, running_daemon, wait_for

# Generous: a loopback answer from cache takes milliseconds; this only catches blocking.
QUICK_SECONDS = 0.5
HANGING = {"MONITOR_INTERVAL_SECONDS": "1", "MONITOR_CHECK_TIMEOUT_SECONDS": "0.5"}
RAW_TIMEOUT = 5.0


@pytest.fixture(scope="module")
def hanging_providers() -> Iterator[FakeServer]:
    """A fake provider server on which every provider accepts and never answers."""
    server = FakeServer().start()
    for path in PROVIDER_PATHS.values():
        server.route(path, Reply(hang=True))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def daemon(hanging_providers: FakeServer) -> Iterator[Daemon]:
    """The real daemon, checking every second against providers that all hang."""
    with running_daemon({**provider_env(hanging_providers), **HANGING}) as running:
        wait_for(lambda: all_timed_out(running))
        yield running


@pytest.fixture
def clean_daemon(daemon: Daemon) -> Iterator[Daemon]:
    """The shared daemon; after the test it must still be live, with no traceback logged."""
    yield daemon
    assert daemon.process.poll() is None, daemon.stderr()
    assert daemon.get("/livez").status_code == 200
    assert "Traceback" not in daemon.stderr()


def all_timed_out(daemon: Daemon) -> bool:
    """Every integration reports the timeout of its hanging provider."""
    integrations = daemon.get("/api/integrations/status").json()["integrations"]
    return all(entry.get("reason") == "timeout" for entry in integrations.values())


def address(daemon: Daemon) -> tuple[str, int]:
    """The daemon's (host, port)."""
    parts = urlsplit(daemon.url)
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port


def status_of_answer(sock: socket.socket) -> int | None:
    """The HTTP status the daemon answered on `sock`, or None when it closed the connection."""
    received = b""
    try:
        while b"\r\n" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                return None
            received += chunk
    except ConnectionResetError:
        return None
    return int(received.split(b" ", 2)[1])


def raw_exchange(daemon: Daemon, data: bytes, pieces: int = 1) -> int | None:
    """Send `data` on a fresh connection (in `pieces` writes, paced so they arrive apart);
    the status of the answer, or None if the daemon closed the connection."""
    size = -(-len(data) // pieces)
    with socket.create_connection(address(daemon), timeout=RAW_TIMEOUT) as sock:
        # It may answer and close before reading everything we send.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for start in range(0, len(data), size):
                sock.sendall(data[start : start + size])
                if pieces > 1:
                    time.sleep(0.01)  # the pace of the client, so each piece arrives alone
        return status_of_answer(sock)


def timed_gets(client: httpx.Client, paths: Iterable[str]) -> list[float]:
    """Seconds each GET took; every answer must be a 200."""
    timings = []
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
    return timings


def test_daemon__metrics_and_status_from_cache_while_every_provider_hangs(
    clean_daemon: Daemon,
) -> None:
    """With every provider hanging, /metrics and the status API still answer at once."""
    paths = ["/metrics", "/api/integrations/status"] * 150
    with httpx.Client(base_url=clean_daemon.url, timeout=10) as client:
        timings = timed_gets(client, paths)

    assert max(timings) < QUICK_SECONDS
    assert all_timed_out(clean_daemon)


class Slowloris(threading.Thread):
    """Opens connections with a partial request head, then sends one more header byte per
    tick on each, for a bounded number of ticks."""

    HEAD = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "

    def __init__(self, target: tuple[str, int], connections: int, tick: float, ticks: int) -> None:
        super().__init__(daemon=True)
        self.sockets = []
        for _ in range(connections):
            sock = socket.create_connection(target, timeout=RAW_TIMEOUT)
            sock.sendall(self.HEAD)
            self.sockets.append(sock)
        self._tick, self._ticks = tick, ticks

    def run(self) -> None:
        for _ in range(self._ticks):
            time.sleep(self._tick)  # the pace of the attack itself
            for sock in list(self.sockets):
                try:
                    sock.send(b"a")
                except OSError:
                    self.sockets.remove(sock)
                    sock.close()

    def finish(self) -> list[int | None]:
        """Complete every request head; what each connection then got."""
        answers = []
        for sock in self.sockets:
            with sock:
                try:
                    sock.sendall(b"\r\n\r\n")
                except OSError:
                    answers.append(None)
                    continue
                answers.append(status_of_answer(sock))
        return answers


def test_daemon__slowloris_does_not_block_other_clients(clean_daemon: Daemon) -> None:
    """Clients dripping their headers hold only their own connections; others are served."""
    slowloris = Slowloris(address(clean_daemon), connections=20, tick=0.2, ticks=15)
    slowloris.start()
    timings: list[float] = []
    with httpx.Client(base_url=clean_daemon.url, timeout=10) as client:
        while slowloris.is_alive():
            timings += timed_gets(client, ["/metrics", "/api/integrations/status"])
    slowloris.join(timeout=10)
    answers = slowloris.finish()

    assert len(timings) > 20
    assert max(timings) < QUICK_SECONDS
    assert all(answer in (200, None) for answer in answers), answers


def test_daemon__unfinished_request_head_is_closed(clean_daemon: Daemon) -> None:
    """A connection that sends no complete request within a few seconds is closed."""
    with socket.create_connection(address(clean_daemon), timeout=RAW_TIMEOUT) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sock.settimeout(6.0)  # past uvicorn's 5 s keep-alive, the natural bound to reuse
        try:
            closed = sock.recv(1) == b""
        except (TimeoutError, ConnectionResetError) as exc:
            closed = isinstance(exc, ConnectionResetError)

    assert closed


def big_header(size: int) -> bytes:
    """A GET of /metrics with one header of `size` bytes."""
    return b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * size + b"\r\n\r\n"


def many_headers(count: int) -> bytes:
    """A GET of /metrics with `count` headers."""
    lines = b"".join(b"X-Many-%d: value\r\n" % i for i in range(count))
    return b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n" + lines + b"\r\n"


def assert_still_quick(daemon: Daemon) -> None:
    """/metrics answers at once."""
    started = time.perf_counter()
    assert daemon.get("/metrics").status_code == 200
    assert time.perf_counter() - started < QUICK_SECONDS


@pytest.mark.parametrize(
    ("request_bytes", "pieces"),
    [
        pytest.param(big_header(100_000), 50, id="100-KB-header-in-pieces"),
        pytest.param(big_header(1_000_000), 1, id="1-MB-header"),
        pytest.param(b"BREW / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 1, id="BREW-root"),
        pytest.param(b"BREW /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 1, id="BREW-metrics"),
        pytest.param(b"GET\r\n\r\n", 1, id="no-target"),
        pytest.param(b"GET /metrics HTTP/1.1\r\nNo colon here\r\n\r\n", 1, id="bad-header"),
        pytest.param(bytes.fromhex("16030100c4010000c00303") + bytes(64), 1, id="tls-hello"),
    ],
)
def test_daemon__malformed_request_gets_a_plain_4xx(
    clean_daemon: Daemon, request_bytes: bytes, pieces: int
) -> None:
    """Oversized headers, unknown methods and garbage get a plain 4xx, or a closed connection."""
    answer = raw_exchange(clean_daemon, request_bytes, pieces)

    assert answer is None or 400 <= answer < 500, answer
    assert_still_quick(clean_daemon)


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(big_header(100_000), id="100-KB-header"),
        pytest.param(many_headers(5000), id="5000-headers"),
    ],
)
def test_daemon__oversized_request_head_in_one_write_is_answered_plainly(
    clean_daemon: Daemon, request_bytes: bytes
) -> None:
    """A 100 KB request head in one write is refused plainly, and nobody else waits."""
    # h11 refuses (400) a head still incomplete after a read of 16 KiB; one that lands in a
    # single read reaches the app, whose header cap answers 431.
    answer = raw_exchange(clean_daemon, request_bytes)

    assert answer is None or answer in (400, 431), answer
    assert_still_quick(clean_daemon)


def streamed_post(daemon: Daemon, path: str, total_bytes: int) -> int | None:
    """POST a `total_bytes` body in 64 KB pieces, reading the answer as soon as there is one."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {total_bytes}\r\n\r\n"
    ).encode()
    piece = b" " * 65536
    deadline = time.monotonic() + 20
    with socket.create_connection(address(daemon), timeout=RAW_TIMEOUT) as sock:
        sock.sendall(head)
        sent = 0
        while sent < total_bytes and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1.0)
            if readable:
                break  # an answer (or a close) before the whole body was read
            if writable:
                try:
                    sent += sock.send(piece[: total_bytes - sent])
                except (BrokenPipeError, ConnectionResetError):
                    break
        return status_of_answer(sock)


def test_daemon__refresh_with_a_20_mb_body(clean_daemon: Daemon) -> None:
    """A 20 MB body posted to refresh gets a plain 4xx (or a close), and costs nothing lasting."""
    answer = streamed_post(clean_daemon, "/api/integrations/refresh", 20 * 1024 * 1024)

    assert answer is None or 400 <= answer < 500, answer
    started = time.perf_counter()
    assert clean_daemon.get("/api/integrations/status").status_code == 200
    assert time.perf_counter() - started < QUICK_SECONDS


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe\x00garbage", b"[" * 500])
def test_daemon__refresh_with_invalid_json(clean_daemon: Daemon, body: bytes) -> None:
    """Invalid JSON posted to refresh gets a plain 4xx, never a 5xx."""
    with httpx.Client(base_url=clean_daemon.url, timeout=10) as client:
        response = client.post(
            "/api/integrations/refresh",
            content=body,
            headers={"Content-Type": "application/json"},
        )

    assert 400 <= response.status_code < 500, response.status_code


def test_daemon__refresh_body_that_never_arrives_is_cut_off(clean_daemon: Daemon) -> None:
    """A refresh that announces a body and then sends it a byte at a time gets 408 and is let go."""
    head = (
        b"POST /api/integrations/refresh HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    with socket.create_connection(address(clean_daemon), timeout=RAW_TIMEOUT) as sock:
        sock.sendall(head)
        sock.settimeout(RAW_TIMEOUT + 3)
        answer = status_of_answer(sock)

    assert answer == 408
    assert_still_quick(clean_daemon)
