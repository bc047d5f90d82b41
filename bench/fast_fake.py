"""A fast fake of the Graph API and Stripe for load benchmarks, in a process of its own.

Any `GET /{version}/{waba}` answers a healthy WhatsApp Business Account and any
`GET /v1/customers/{id}` a customer, over keep-alive HTTP/1.1, with the documented bodies. It
counts requests per provider per wall-clock second, so a benchmark can read the highest count
in any 1-second window: `GET /_stats`.

    python -m bench.fast_fake PORT
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections import Counter

from tests.fleet.windows import most_in_any_window

_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"


def _account(waba: str) -> bytes:
    return json.dumps(
        {
            "id": waba,
            "name": f"Org {waba}",
            "account_review_status": "APPROVED",
            "health_status": {"can_send_message": "AVAILABLE", "entities": []},
        }
    ).encode()


def _customer(customer: str) -> bytes:
    return json.dumps(
        {"id": customer, "object": "customer", "email": f"{customer}@example.com"}
    ).encode()


class Stats:
    """Requests per provider per whole wall-clock second (and, for sliding windows, stamps)."""

    def __init__(self) -> None:
        self.per_second: dict[str, Counter[int]] = {"whatsapp": Counter(), "stripe": Counter()}
        self.stamps: dict[str, list[float]] = {"whatsapp": [], "stripe": []}

    def count(self, provider: str) -> None:
        now = time.time()
        self.per_second[provider][int(now)] += 1
        self.stamps[provider].append(now)

    def report(self) -> bytes:
        return json.dumps(
            {
                provider: {
                    "requests": len(self.stamps[provider]),
                    "max_in_any_second": most_in_any_window(self.stamps[provider]),
                    "gaps_under_10ms": _gaps_under(self.stamps[provider], 0.010),
                }
                for provider in self.per_second
            }
        ).encode()


def _gaps_under(stamps: list[float], seconds: float) -> int:
    ordered = sorted(stamps)
    return sum(1 for a, b in itertools.pairwise(ordered) if b - a < seconds)


class FakeProtocol(asyncio.Protocol):
    """Reads request heads and answers each at once."""

    def __init__(self, stats: Stats) -> None:
        self._stats = stats
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while b"\r\n\r\n" in self._buffer:
            head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
            path = head.split(b" ", 2)[1].split(b"?", 1)[0].decode()
            body = self._answer(path)
            assert self._transport is not None
            self._transport.write(_HEAD % len(body) + body)

    def _answer(self, path: str) -> bytes:
        parts = path.strip("/").split("/")
        if path == "/_stats":
            return self._stats.report()
        if parts[:2] == ["v1", "customers"]:
            self._stats.count("stripe")
            return _customer(parts[2])
        self._stats.count("whatsapp")
        return _account(parts[-1])


async def serve(port: int) -> None:
    """Serve on 127.0.0.1:port until killed."""
    stats = Stats()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: FakeProtocol(stats), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
