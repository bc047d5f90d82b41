"""The capped HTTP transport and the mapping of HTTP-stack errors to reasons."""

from __future__ import annotations

import gzip
import ssl
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from monitor.checks.base import InvalidResponse, Reason
from monitor.checks.transport import (
    MAX_BODY_BYTES,
    USER_AGENT,
    BodyTooLarge,
    CappedTransport,
    UndecodableBody,
    UnsupportedEncoding,
    failure_from_transport_error,
    new_http_client,
)
from tests.fakes.server import FakeServer, Reply

LIMIT = 1000
URL = "http://127.0.0.1/test"
PAYLOAD = b'{"ok": true, "padding": "' + b"x" * 500 + b'"}'


class ChunkedStream(httpx.AsyncByteStream):
    """A raw response body sent in fixed chunks, counting how many were pulled."""

    def __init__(self, body: bytes, chunk_size: int = 256) -> None:
        self.chunks = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
        self.pulled = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.pulled += 1
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


def capped_client(
    body: bytes | ChunkedStream, encoding: str | None = None, limit: int = LIMIT
) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    """A client whose capped transport wraps an in-memory server answering with `body`."""
    seen: list[httpx.Request] = []
    stream = body if isinstance(body, ChunkedStream) else ChunkedStream(body)
    headers = {"Content-Type": "application/json"}
    if encoding is not None:
        headers["Content-Encoding"] = encoding

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers=headers, stream=stream)

    inner = httpx.MockTransport(answer)
    return httpx.AsyncClient(transport=CappedTransport(limit, inner=inner)), seen


# --- CappedTransport ----------------------------------------------------------------------


async def test_capped_transport__identity_below_cap() -> None:
    """A plain body under the cap arrives unchanged."""
    client, _ = capped_client(PAYLOAD)
    async with client:
        response = await client.get(URL)

    assert response.content == PAYLOAD
    assert response.json()["ok"] is True


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("GZIP ", gzip.compress),
    ],
    ids=["gzip", "x-gzip", "deflate", "gzip-spelled-loosely"],
)
async def test_capped_transport__compressed_below_cap(
    encoding: str, encode: Callable[[bytes], bytes]
) -> None:
    """A gzip or deflate body under the cap is inflated, and httpx does not inflate it again."""
    client, _ = capped_client(encode(PAYLOAD), encoding)
    async with client:
        response = await client.get(URL)

    assert response.content == PAYLOAD
    assert "content-encoding" not in response.headers


async def test_capped_transport__body_exactly_at_cap() -> None:
    """A body of exactly the cap is accepted: the cap is inclusive."""
    client, _ = capped_client(b"x" * LIMIT)
    async with client:
        response = await client.get(URL)

    assert len(response.content) == LIMIT


async def test_capped_transport__identity_over_cap() -> None:
    """A plain body one byte over the cap is refused."""
    client, _ = capped_client(b"x" * (LIMIT + 1))
    async with client:
        with pytest.raises(BodyTooLarge) as raised:
            await client.get(URL)

    assert raised.value.limit == LIMIT


@pytest.mark.parametrize(
    ("encoding", "encode"), [("gzip", gzip.compress), ("deflate", zlib.compress)]
)
async def test_capped_transport__cap_on_decoded_size(
    encoding: str, encode: Callable[[bytes], bytes]
) -> None:
    """A compressed body smaller than the cap that inflates past it is refused."""
    compressed = encode(b"x" * (LIMIT * 4))
    assert len(compressed) < LIMIT
    client, _ = capped_client(compressed, encoding)
    async with client:
        with pytest.raises(BodyTooLarge):
            await client.get(URL)


async def test_capped_transport__gzip_bomb_stops_early() -> None:
    """A gzip bomb is abandoned at the cap: neither inflated nor even read to its end."""
    bomb = ChunkedStream(gzip.compress(b"\0" * (64 * MAX_BODY_BYTES)), chunk_size=1024)
    assert len(bomb.chunks) > 10
    client, _ = capped_client(bomb, "gzip", limit=MAX_BODY_BYTES)
    async with client:
        with pytest.raises(BodyTooLarge):
            await client.get(URL)

    assert bomb.pulled < len(bomb.chunks) // 4
    assert bomb.closed


async def test_capped_transport__gzip_bomb_in_one_chunk_stays_small() -> None:
    """A bomb that arrives in one network read is inflated only up to the cap, not in full."""
    bomb = ChunkedStream(gzip.compress(b"\0" * (64 * MAX_BODY_BYTES)), chunk_size=1 << 20)
    assert len(bomb.chunks) == 1
    client, _ = capped_client(bomb, "gzip", limit=MAX_BODY_BYTES)
    tracemalloc.start()
    try:
        async with client:
            with pytest.raises(BodyTooLarge):
                await client.get(URL)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 8 * MAX_BODY_BYTES


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", PAYLOAD),
        ("deflate", PAYLOAD),
        ("deflate", gzip.compress(PAYLOAD)),
        ("gzip", gzip.compress(PAYLOAD)[:-8] + b"\0" * 8),
    ],
    ids=["gzip-plain", "deflate-plain", "deflate-gzip", "gzip-bad-checksum"],
)
async def test_capped_transport__body_not_in_its_encoding(encoding: str, body: bytes) -> None:
    """A body that does not decode as its Content-Encoding is refused as undecodable."""
    client, _ = capped_client(body, encoding)
    async with client:
        with pytest.raises(UndecodableBody):
            await client.get(URL)


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "gzip, gzip"])
async def test_capped_transport__unsupported_encoding(encoding: str) -> None:
    """An encoding we never asked for is refused, and the response is closed unread."""
    stream = ChunkedStream(PAYLOAD)
    client, _ = capped_client(stream, encoding)
    async with client:
        with pytest.raises(UnsupportedEncoding):
            await client.get(URL)

    assert stream.pulled == 0
    assert stream.closed


async def test_capped_transport__asks_only_for_what_it_decodes() -> None:
    """The request offers only the encodings the transport can inflate under the cap."""
    client, seen = capped_client(PAYLOAD)
    async with client:
        await client.get(URL, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})

    (request,) = seen
    assert request.headers["Accept-Encoding"] == "gzip, deflate"


async def test_new_http_client__gzip_over_real_socket(fake_server: FakeServer) -> None:
    """Over a real connection, a gzip answer is inflated and sent with the monitor's User-Agent."""
    fake_server.route("/gz", Reply(200, gzip.compress(PAYLOAD), {"Content-Encoding": "gzip"}))

    async with new_http_client(2.0) as client:
        response = await client.get(f"{fake_server.url}/gz")

    assert response.content == PAYLOAD
    (request,) = fake_server.requests_to("/gz")
    assert request.headers["user-agent"] == USER_AGENT
    assert request.headers["accept-encoding"] == "gzip, deflate"


async def test_new_http_client__no_redirects(fake_server: FakeServer) -> None:
    """A redirect is reported as it is, never followed to another host."""
    fake_server.route("/moved", Reply(302, b"", {"Location": "http://192.0.2.1/elsewhere"}))

    async with new_http_client(2.0) as client:
        response = await client.get(f"{fake_server.url}/moved")

    assert response.status_code == 302


# --- failure_from_transport_error ---------------------------------------------------------

REQUEST = httpx.Request("GET", URL)


def certificate_error() -> httpx.ConnectError:
    error = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]", request=REQUEST)
    error.__cause__ = ssl.SSLCertVerificationError(1, "certificate verify failed")
    return error


TRANSPORT_FAILURES = [
    pytest.param(
        BodyTooLarge(MAX_BODY_BYTES),
        Reason.INVALID_RESPONSE,
        "larger than 1048576 bytes",
        id="body-too-large",
    ),
    pytest.param(
        UnsupportedEncoding("unsupported content encoding 'br'"),
        Reason.INVALID_RESPONSE,
        "'br'",
        id="unsupported-encoding",
    ),
    pytest.param(
        UndecodableBody("gzip body that does not decode"),
        Reason.INVALID_RESPONSE,
        "gzip body that does not decode",
        id="undecodable-body",
    ),
    pytest.param(
        httpx.ConnectTimeout("timed out", request=REQUEST),
        Reason.TIMEOUT,
        "did not answer in time",
        id="connect-timeout",
    ),
    pytest.param(
        httpx.ReadTimeout("timed out", request=REQUEST),
        Reason.TIMEOUT,
        "did not answer in time",
        id="read-timeout",
    ),
    pytest.param(
        httpx.PoolTimeout("timed out", request=REQUEST),
        Reason.TIMEOUT,
        "did not answer in time",
        id="pool-timeout",
    ),
    pytest.param(
        certificate_error(),
        Reason.CONNECTION,
        "could not verify the TLS certificate",
        id="certificate",
    ),
    pytest.param(
        httpx.RemoteProtocolError("peer closed connection", request=REQUEST),
        Reason.CONNECTION,
        "closed the connection before a complete answer",
        id="closed-mid-answer",
    ),
    pytest.param(
        httpx.ConnectError("All connection attempts failed", request=REQUEST),
        Reason.CONNECTION,
        "could not connect",
        id="connect-error",
    ),
    pytest.param(
        httpx.ReadError("connection reset", request=REQUEST),
        Reason.CONNECTION,
        "connection to the Example API failed",
        id="read-error",
    ),
]


@pytest.mark.parametrize(("error", "reason", "words"), TRANSPORT_FAILURES)
def test_failure_from_transport_error__reason(
    error: BaseException, reason: Reason, words: str
) -> None:
    """Each HTTP-stack failure shows as its reason, with a sentence naming the provider."""
    failure = failure_from_transport_error(error, "the Example API")

    assert failure.reason is reason
    assert words in failure.message
    assert "the Example API" in failure.message


def test_failure_from_transport_error__oversized_body_is_invalid_response() -> None:
    """An oversized body is the InvalidResponse kind, like any answer a provider never sends."""
    failure = failure_from_transport_error(BodyTooLarge(LIMIT), "the Example API")

    assert isinstance(failure, InvalidResponse)
