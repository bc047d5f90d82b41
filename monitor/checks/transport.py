"""The HTTP client every HTTP check uses: bounded bodies, bounded decompression, no retries.

A provider (or a proxy in front of it) can send a 50 MB body or a gzip bomb. httpx reads and
inflates whatever arrives, so the cap lives in the transport: it inflates gzip/deflate itself,
counts the bytes after decompression, and stops at the cap. What reaches httpx is plain bytes.
"""

from __future__ import annotations

import contextlib
import functools
import json
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from monitor import __version__
from monitor.checks.base import CheckFailed, InvalidResponse, Reason

MAX_BODY_BYTES = 1024 * 1024
_E = TypeVar("_E", bound=BaseException)
USER_AGENT = f"integration-monitor/{__version__}"


class BodyTooLarge(Exception):
    """The response body grew past the cap; nothing more was read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"response body is larger than {limit} bytes")
        self.limit = limit


class UnsupportedEncoding(Exception):
    """The server used a content encoding we never asked for."""


class UndecodableBody(Exception):
    """The body does not decode as the content encoding the server named."""


# Everything a request through our client may raise that is the network's or the peer's fault.
TRANSPORT_ERRORS = (httpx.HTTPError, BodyTooLarge, UnsupportedEncoding, UndecodableBody)


def _inflater(encoding: str) -> zlib._Decompress | None:
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise UnsupportedEncoding(f"unsupported content encoding {encoding!r}")


class _CappedStream(httpx.AsyncByteStream):
    def __init__(self, raw: httpx.AsyncByteStream, encoding: str, limit: int) -> None:
        self._raw = raw
        self._encoding = encoding
        self._inflate = _inflater(encoding)
        self._limit = limit
        self._seen = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._raw:
            yield self._count(self._decode(chunk))
        if self._inflate is not None:
            yield self._count(self._flush(self._inflate))

    def _decode(self, chunk: bytes) -> bytes:
        if self._inflate is None:
            return chunk
        try:
            # max_length bounds the memory one chunk may inflate to, whatever its ratio.
            decoded = self._inflate.decompress(chunk, self._limit - self._seen + 1)
        except zlib.error as exc:
            raise UndecodableBody(f"{self._encoding} body that does not decode") from exc
        if self._inflate.unconsumed_tail:
            raise BodyTooLarge(self._limit)
        return decoded

    def _flush(self, inflate: zlib._Decompress) -> bytes:
        try:
            return inflate.flush()
        except zlib.error as exc:
            raise UndecodableBody(f"{self._encoding} body that does not decode") from exc

    def _count(self, data: bytes) -> bytes:
        self._seen += len(data)
        if self._seen > self._limit:
            raise BodyTooLarge(self._limit)
        return data

    async def aclose(self) -> None:
        await self._raw.aclose()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Building a context loads the CA bundle (tens of ms); every check's client shares one.
    return httpx.create_ssl_context()


class CappedTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose response bodies never exceed `limit` bytes, decoded."""

    def __init__(self, limit: int = MAX_BODY_BYTES, inner: httpx.AsyncBaseTransport | None = None):
        self._limit = limit
        self._inner = inner or httpx.AsyncHTTPTransport(verify=_tls_context(), retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["Accept-Encoding"] = "gzip, deflate"
        response = await self._inner.handle_async_request(request)
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        assert isinstance(response.stream, httpx.AsyncByteStream)  # noqa: S101 - async transport
        try:
            stream = _CappedStream(response.stream, encoding, self._limit)
        except UnsupportedEncoding:
            await response.aclose()
            raise
        headers = [(k, v) for k, v in response.headers.raw if k.lower() != b"content-encoding"]
        return httpx.Response(
            response.status_code,
            headers=headers,
            stream=stream,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


def new_http_client(
    timeout_seconds: float,
    *,
    limits: httpx.Limits | None = None,
    http2: bool = False,
    wrap: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
    **options: Any,
) -> httpx.AsyncClient:
    """An AsyncClient: capped bodies, our User-Agent, no redirects, no retries.

    `limits` and `http2` shape the connection pool (httpx ignores them on the client once a
    transport is given, so they go to the inner transport here); `wrap` adds a layer in front.
    """
    inner = httpx.AsyncHTTPTransport(
        verify=_tls_context(),
        retries=0,
        limits=limits or httpx.Limits(),
        http2=http2,
    )
    transport: httpx.AsyncBaseTransport = CappedTransport(inner=inner)
    return httpx.AsyncClient(
        transport=wrap(transport) if wrap is not None else transport,
        timeout=httpx.Timeout(timeout_seconds),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        **options,
    )


@contextlib.asynccontextmanager
async def http_client_for_check(
    shared: httpx.AsyncClient | None, timeout_seconds: float
) -> AsyncIterator[httpx.AsyncClient]:
    """The shared pooled client when there is one (left open), else a client for this check."""
    if shared is not None:
        yield shared
        return
    async with new_http_client(timeout_seconds) as client:
        yield client


@dataclass(frozen=True)
class JsonReply:
    """A provider's HTTP answer whose body parsed as JSON."""

    status_code: int
    headers: httpx.Headers
    body: Any


async def get_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    provider: str,
    headers: Mapping[str, str],
    params: Mapping[str, str] | None = None,
) -> JsonReply:
    """GET `url` and parse its body as JSON.

    Raises:
        CheckFailed: the request failed (timeout, connection, certificate), the body is too
            large (invalid_response), or it is not JSON (see `unexpected_body`).
    """
    try:
        response = await client.get(url, headers=headers, params=params)
    except TRANSPORT_ERRORS as exc:
        raise failure_from_transport_error(exc, provider) from exc
    return JsonReply(response.status_code, response.headers, parse_json_body(response, provider))


def parse_json_body(response: httpx.Response, provider: str) -> Any:
    """The response body as JSON, or a failure naming what came instead.

    A 429 is a rate limit whatever its body: an edge proxy's HTML page still carries the
    Retry-After the provider wants honoured. Likewise a 5xx page is an upstream error.
    """
    try:
        return json.loads(response.content)
    except ValueError as exc:
        if response.status_code == 429:
            raise rate_limited(provider, response.headers) from None
        raise unexpected_body(
            provider,
            response.status_code,
            response.headers,
            f"with a body that is not JSON ({content_kind(response.headers)})",
        ) from exc


def content_kind(headers: Mapping[str, str]) -> str:
    """The media type of a body, for a message ("text/html")."""
    return headers.get("Content-Type", "").split(";")[0].strip() or "no content type"


def unexpected_body(
    provider: str,
    http_status: int,
    headers: Mapping[str, str],
    what: str,
    details: Mapping[str, Any] | None = None,
) -> CheckFailed:
    """An answer whose body is not in the provider's own shape, `what` saying how.

    On a 5xx it is whoever stands in front of the provider (a CDN, a proxy, a gateway) saying
    the provider cannot be reached: an upstream error like the provider's own 5xx. Otherwise
    something that is not the provider answered: an invalid response.
    """
    message = f"{provider} answered HTTP {http_status} {what}"
    if http_status >= 500:
        wait = unavailable_for(http_status, headers)
        return CheckFailed(Reason.UPSTREAM_ERROR, message, details, retry_after=wait)
    return InvalidResponse(message, details)


def unavailable_for(http_status: int, headers: Mapping[str, str]) -> float | None:
    """The wait a 503's Retry-After asks for, capped like a rate limit's; None on other statuses.

    RFC 9110 §10.2.3: on a 503, Retry-After says how long the service expects to be unavailable.
    """
    if http_status != 503:
        return None
    return retry_after_seconds(headers, datetime.now(UTC))


def rate_limited(provider: str, headers: Mapping[str, str]) -> CheckFailed:
    """A rate-limit failure that carries the wait the provider asked for, if it asked."""
    return CheckFailed(
        Reason.RATE_LIMITED,
        f"{provider} is rate limiting the monitor (HTTP 429)",
        retry_after=retry_after_seconds(headers, datetime.now(UTC)),
    )


def failure_from_transport_error(exc: BaseException, provider: str) -> CheckFailed:
    """Turn what the HTTP stack raised into a failure with a reason and a plain sentence."""
    if isinstance(exc, BodyTooLarge):
        return InvalidResponse(f"{provider} sent a response body larger than {exc.limit} bytes")
    if isinstance(exc, UnsupportedEncoding):
        return InvalidResponse(f"{provider} answered with an {exc}")
    if isinstance(exc, UndecodableBody):
        return InvalidResponse(f"{provider} sent a {exc}")
    if isinstance(exc, httpx.TimeoutException):
        return CheckFailed(Reason.TIMEOUT, f"{provider} did not answer in time")
    return CheckFailed(Reason.CONNECTION, _connection_problem(exc, provider))


def _connection_problem(exc: BaseException, provider: str) -> str:
    """One sentence on what went wrong with the connection, as precisely as the causes tell."""
    certificate = _cause_of_type(exc, ssl.SSLCertVerificationError)
    if certificate is not None or "CERTIFICATE_VERIFY_FAILED" in str(exc):
        why = getattr(certificate, "verify_message", None)
        return f"could not verify the TLS certificate of {provider}" + (f": {why}" if why else "")
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{provider} closed the connection before a complete answer"
    if _cause_of_type(exc, socket.gaierror) is not None:
        return f"could not resolve the host name of {provider}"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect to {provider}"
    return f"the connection to {provider} failed"


def _cause_of_type(exc: BaseException, kind: type[_E]) -> _E | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


# A provider asking for more than this is capped: the monitor must look again eventually.
MAX_RETRY_AFTER_SECONDS = 3600.0


def retry_after_seconds(headers: Mapping[str, str], now: datetime) -> float | None:
    """How long the provider asked us to wait, from `Retry-After` (seconds or an HTTP date)
    or Resend's `ratelimit-reset` (seconds); the longer when both are given."""
    waits = [_delay(headers.get("retry-after"), now), _delay(headers.get("ratelimit-reset"), now)]
    known = [w for w in waits if w is not None and w > 0]
    return min(max(known), MAX_RETRY_AFTER_SECONDS) if known else None


def _delay(value: str | None, now: datetime) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return (when - now).total_seconds() if when.tzinfo else None
