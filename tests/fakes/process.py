"""The fake provider server in a process of its own.

Measurements of the monitor's open file descriptors and memory must not count the fake
server's side of each connection (a hanging reply holds its socket until the server stops), so
long runs put the server in a child process. Routes are fixed when it starts.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Sequence
from multiprocessing.connection import Connection
from types import TracebackType

from tests.fakes.server import FakeServer, Reply

START_SECONDS = 30.0


def _serve(routes: Sequence[tuple[str, Reply]], channel: Connection) -> None:
    server = FakeServer().start()
    for path, reply in routes:
        server.route(path, reply)
    channel.send(server.port)
    # A word from the parent means stop; so does the parent going away.
    with contextlib.suppress(EOFError):
        channel.recv()
    server.stop()


class FakeServerProcess:
    """A FakeServer answering `routes` (path, reply) from a child process on 127.0.0.1."""

    def __init__(self, routes: Sequence[tuple[str, Reply]]) -> None:
        context = multiprocessing.get_context("spawn")
        self._channel, child_end = context.Pipe()
        self._process = context.Process(target=_serve, args=(list(routes), child_end), daemon=True)
        self._process.start()
        child_end.close()
        if not self._channel.poll(START_SECONDS):
            self._process.kill()
            raise RuntimeError("the fake server process did not start")
        self.port: int = self._channel.recv()

    @property
    def url(self) -> str:
        """The base URL clients use."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The child's process id."""
        return self._process.pid

    def stop(self) -> None:
        """Ask the child to stop its server, then reap it."""
        with contextlib.suppress(OSError):  # the child has gone already
            self._channel.send("stop")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)
        self._channel.close()

    def __enter__(self) -> FakeServerProcess:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
