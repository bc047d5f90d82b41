"""A fast fake of the Graph API and Stripe for load benchmarks, in a process of its own.

Any `GET /{version}/{waba}` answers a healthy WhatsApp Business Account and any
`GET /v1/customers/{id}` a customer, over keep-alive HTTP/1.1, with the documented bodies. It
counts requests per provider per wall-clock second, so a benchmark can read the highest count
in any 1-second window: `GET /_stats`.

    python -m bench.fast_fake PORT
"""

from __future__ import annotations

import itertools
import json
import selectors
import socket
import struct
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
            "phone_numbers": {
                "data": [
                    {
                        "id": f"{waba}01",
                        "display_phone_number": "+1 555-010-0000",
                        "verified_name": f"Org {waba}",
                        "status": "CONNECTED",
                        "quality_rating": "GREEN",
                        "whatsapp_business_manager_messaging_limit": "TIER_2K",
                    }
                ],
                "paging": {"cursors": {"before": "QVFI", "after": "QVFI"}},
            },
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

    def count(self, provider: str, at: float) -> None:
        self.per_second[provider][int(at)] += 1
        self.stamps[provider].append(at)

    def report(self) -> bytes:
        return json.dumps(
            {
                provider: {
                    "requests": len(self.stamps[provider]),
                    "max_in_any_second": most_in_any_window(self.stamps[provider]),
                    "gaps_under_10ms": _gaps_under(self.stamps[provider], 0.010),
                    "first_small_gaps_at": _small_gaps_at(self.stamps[provider], 0.010),
                }
                for provider in self.per_second
            }
        ).encode()


def _small_gaps_at(stamps: list[float], seconds: float) -> list[float]:
    ordered = sorted(stamps)
    return [round(b - ordered[0], 3) for a, b in itertools.pairwise(ordered) if b - a < seconds][:5]


def _gaps_under(stamps: list[float], seconds: float) -> int:
    ordered = sorted(stamps)
    return sum(1 for a, b in itertools.pairwise(ordered) if b - a < seconds)


# The kernel's receive time of each request (not when this process next ran): what a
# provider's rate limiter at the edge would count.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def serve(port: int) -> None:
    """Serve on 127.0.0.1:port until killed (one thread, non-blocking sockets)."""
    stats = Stats()
    listener = socket.create_server(("127.0.0.1", port), backlog=1024)
    listener.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, None)
    while True:
        for key, _ in selector.select():
            if key.data is None:
                _accept(listener, selector)
            else:
                _read(key.fileobj, key.data, selector, stats)  # type: ignore[arg-type]


def _accept(listener: socket.socket, selector: selectors.BaseSelector) -> None:
    connection, _ = listener.accept()
    connection.setblocking(False)
    connection.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    selector.register(connection, selectors.EVENT_READ, bytearray())


def _read(
    connection: socket.socket, buffer: bytearray, selector: selectors.BaseSelector, stats: Stats
) -> None:
    try:
        data, ancillary, _, _ = connection.recvmsg(65536, 64)
    except BlockingIOError:
        return
    except OSError:
        data, ancillary = b"", []
    if not data:
        selector.unregister(connection)
        connection.close()
        return
    stamp = _kernel_time(ancillary)
    buffer += data
    while (end := buffer.find(b"\r\n\r\n")) >= 0:
        head = bytes(buffer[:end])
        del buffer[: end + 4]
        path = head.split(b" ", 2)[1].split(b"?", 1)[0].decode()
        body = _answer(path, stats, stamp)
        connection.sendall(_HEAD % len(body) + body)


def _kernel_time(ancillary: list[tuple[int, int, bytes]]) -> float:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            seconds, nanoseconds = struct.unpack("qq", data[:16])
            return seconds + nanoseconds / 1e9
    return time.time()


def _answer(path: str, stats: Stats, stamp: float) -> bytes:
    parts = path.strip("/").split("/")
    if path == "/_stats":
        return stats.report()
    if parts[0] == "blackbox":  # blackbox_exporter's probes, kept out of the budget counts
        return _account(parts[-1])
    if parts[:2] == ["v1", "customers"]:
        stats.count("stripe", stamp)
        return _customer(parts[2])
    stats.count("whatsapp", stamp)
    return _account(parts[-1])


if __name__ == "__main__":
    serve(int(sys.argv[1]))
