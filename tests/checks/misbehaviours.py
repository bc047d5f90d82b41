"""Answers no provider sends on purpose: proxy pages, cut bodies, huge bodies, gzip bombs.

Every HTTP check must turn each of these into a bounded reason, never a crash or a hang.
"""

from __future__ import annotations

import gzip
import json

from monitor.checks.transport import MAX_BODY_BYTES
from tests.fakes.server import Reply
from tests.support.net import free_port

# Short enough to keep the suite fast, long enough for a loopback answer on a busy machine.
CHECK_TIMEOUT = 2.0
SLOW_CHECK_TIMEOUT = 0.5

_PROXY_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


def proxy_error_page(status: int = 502) -> Reply:
    """The HTML page nginx in front of a provider sends when the provider is down."""
    return Reply.html(status, _PROXY_PAGE)


def proxy_unavailable_page(retry_after: str = "120") -> Reply:
    """A CDN's HTML 503 page that asks clients to come back later."""
    page = Reply.html(503, "<html><body><h1>503 Service Unavailable</h1></body></html>")
    return Reply(page.status, page.body, {**page.headers, "Retry-After": retry_after})


def plain_text_error(status: int = 500) -> Reply:
    """The plain-text answer an Envoy sidecar gives when the service behind it is gone."""
    return Reply(
        status,
        b"upstream connect error or disconnect/reset before headers. reset reason: overflow",
        {"Content-Type": "text/plain"},
    )


def foreign_json_error(status: int = 502) -> Reply:
    """A JSON error in a gateway's own shape (AWS API Gateway's), not the provider's."""
    return Reply.json(status, {"message": "Internal server error"})


def truncated_json(status: int = 200) -> Reply:
    """A complete HTTP message whose JSON body stops halfway through an object."""
    return Reply(
        status, b'{"id": "104996542523987", "name": "Acme', {"Content-Type": "application/json"}
    )


def closed_mid_body(status: int = 200) -> Reply:
    """Content-Length announces the whole body; the server sends a third of it and closes."""
    body = json.dumps({"id": "x", "padding": "p" * 300}).encode()
    return Reply(status, body, {"Content-Type": "application/json"}, truncate_to=len(body) // 3)


def oversized_json(status: int = 200) -> Reply:
    """A valid JSON document of about 2 MB, twice the body cap."""
    body = json.dumps({"padding": "p" * (2 * MAX_BODY_BYTES)}).encode()
    return Reply(status, body, {"Content-Type": "application/json"})


def gzip_bomb(status: int = 200) -> Reply:
    """A few KB of gzip that inflates to 16 times the body cap."""
    body = gzip.compress(b" " * (16 * MAX_BODY_BYTES), compresslevel=9)
    assert len(body) < 64 * 1024
    return Reply(status, body, {"Content-Type": "application/json", "Content-Encoding": "gzip"})


def mislabelled_gzip(status: int = 200) -> Reply:
    """A plain JSON body that a proxy labels `Content-Encoding: gzip`."""
    return Reply(
        status, b'{"data": []}', {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    )


def slow(reply: Reply) -> Reply:
    """The same answer, held back until the fake server stops: long past any check's timeout.

    A hang rather than a fixed delay, so that stopping the fake server also ends the handler.
    """
    return Reply(reply.status, reply.body, reply.headers, hang=True)


def refused_url() -> str:
    """A loopback base URL on a port nobody listens on."""
    return f"http://127.0.0.1:{free_port()}"
