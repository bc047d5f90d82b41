"""The HTTP side: the dashboard's JSON, health+json, /metrics, the Kubernetes probes and the
status page.

Every answer comes from the cached snapshot; only POST /api/integrations/refresh runs checks.
Personal data (the Stripe customer's email) is served only behind MONITOR_API_TOKEN.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import math

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from monitor import __version__
from monitor.fleet.api import Fleet, organization_routes
from monitor.health import health_document, not_ready_document
from monitor.history import MAX_CHANGES
from monitor.page import PageConfig, page_routes
from monitor.service import Monitor, ShuttingDown
from monitor.snapshot import Reported

PROTECTED_PREFIXES = ("/api/", "/health")
# h11 enforces a head limit only on a head that arrives in pieces; one that arrives in a single
# read may be far larger. No client of ours needs more than this.
MAX_HEADER_BYTES = 16 * 1024


class HeaderSizeLimitMiddleware:
    """Answers 431 to a request whose headers add up to more than MAX_HEADER_BYTES."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = sum(len(name) + len(value) for name, value in scope["headers"])
            if size > MAX_HEADER_BYTES:
                response = JSONResponse({"error": "request headers too large"}, status_code=431)
                await response(scope, receive, send)
                return
        await self._app(scope, receive, send)


class BearerTokenMiddleware:
    """Asks for `Authorization: Bearer <token>` on /api/* and /health; the rest stays open."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self._app = app
        self._expected = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _is_protected(scope["path"]):
            headers = dict(scope["headers"])
            # RFC 7235: the scheme is case-insensitive and followed by one or more spaces.
            scheme, _, presented = headers.get(b"authorization", b"").partition(b" ")
            presented = presented.lstrip(b" ") if scheme.lower() == b"bearer" else b""
            # Constant-time: the answer time must not tell how much of a guess was right.
            if not hmac.compare_digest(presented, self._expected):
                response = JSONResponse(
                    {"error": "a valid bearer token is required"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="integration-monitor"'},
                )
                await response(scope, receive, send)
                return
        await self._app(scope, receive, send)


def _is_protected(path: str) -> bool:
    return path == "/health" or path.startswith(PROTECTED_PREFIXES)


def create_app(
    monitor: Monitor,
    registry: CollectorRegistry,
    api_token: str | None,
    fleet: Fleet | None = None,
    *,
    page: PageConfig | None = None,
) -> Starlette:
    """The ASGI app over one monitor and its metrics registry (and, in fleet mode, the fleet).

    The status page is served with `page` (by default: refresh every 60 s, the monitor's
    interval, no organization pages).
    """
    # Whoever can read the API without a token must not read personal data in it.
    personal = bool(api_token)

    async def status(_: Request) -> Response:
        snapshot = monitor.snapshot
        if snapshot is None:
            return _not_ready()
        max_age = math.ceil(monitor.seconds_until_next_cycle())
        return JSONResponse(
            snapshot.to_json(personal=personal),
            headers={"Cache-Control": f"max-age={max_age}"},
        )

    async def refresh(request: Request) -> Response:
        problem = await refresh_body_problem(request)
        if problem is not None:
            return problem
        try:
            snapshot = await monitor.refresh()
        except ShuttingDown:
            return _unavailable("the monitor is shutting down")
        return JSONResponse(
            snapshot.to_json(personal=personal), headers={"Cache-Control": "no-store"}
        )

    async def health(_: Request) -> Response:
        snapshot = monitor.snapshot
        if snapshot is None:
            return JSONResponse(
                not_ready_document(__version__),
                status_code=503,
                media_type="application/health+json",
                headers={"Retry-After": NOT_READY_RETRY_AFTER},
            )
        document, http_status = health_document(snapshot, __version__)
        return JSONResponse(document, status_code=http_status, media_type="application/health+json")

    async def metrics(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(registry), media_type=content_type)

    async def livez(_: Request) -> Response:
        if monitor.is_live():
            return PlainTextResponse("ok\n")
        return PlainTextResponse("check loop stalled\n", status_code=503)

    async def readyz(_: Request) -> Response:
        if monitor.snapshot is not None:
            return PlainTextResponse("ok\n")
        return PlainTextResponse("first check cycle not finished\n", status_code=503)

    async def history(request: Request) -> Response:
        limit = _history_limit(request.query_params.get("limit"))
        if limit is None:
            return JSONResponse(
                {"error": f"limit must be a whole number from 1 to {MAX_CHANGES}"},
                status_code=400,
            )
        organization = request.query_params.get("organization") or None
        changes = monitor.history.latest(limit, organization)
        return JSONResponse({"changes": [change.to_json() for change in changes]})

    routes = [
        Route("/api/integrations/status", status, methods=["GET"]),
        Route("/api/integrations/history", history, methods=["GET"]),
        Route("/api/integrations/refresh", refresh, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/livez", livez, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    if fleet is not None:
        render = functools.partial(Reported.to_json, personal=personal)
        routes += organization_routes(fleet, render)
    routes += page_routes(page or PageConfig(interval_seconds=monitor.interval_seconds))
    middleware = [Middleware(HeaderSizeLimitMiddleware)]
    if api_token:
        middleware.append(Middleware(BearerTokenMiddleware, token=api_token))
    return Starlette(routes=routes, middleware=middleware)


DEFAULT_HISTORY_LIMIT = 100
# The refresh button sends no body, or an empty JSON object; anything bigger is a mistake.
MAX_REFRESH_BODY_BYTES = 1024
REFRESH_BODY_SECONDS = 5.0
# Until the first cycle ends; it ends within one check deadline of the start. A daemon that is
# shutting down is usually being restarted, and ready again as soon.
NOT_READY_RETRY_AFTER = "5"


async def refresh_body_problem(request: Request) -> Response | None:
    """413 for a body over the cap, 408 for one that does not arrive in time, 400 for one that
    is not JSON; None when fine.

    The body is read only up to the cap and for a few seconds, so a client streaming
    gigabytes, or a byte now and then, costs us a kilobyte and a moment.
    """
    try:
        async with asyncio.timeout(REFRESH_BODY_SECONDS):
            body = await _capped_body(request)
    except TimeoutError:
        return JSONResponse({"error": "the request body did not arrive in time"}, status_code=408)
    if body is None:
        return JSONResponse({"error": "this endpoint takes no request body"}, status_code=413)
    if body.strip():
        try:
            json.loads(body)
        except ValueError:
            return JSONResponse({"error": "the request body is not valid JSON"}, status_code=400)
    return None


async def _capped_body(request: Request) -> bytes | None:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_REFRESH_BODY_BYTES:
            return None
    return body


def _history_limit(raw: str | None) -> int | None:
    """The `limit` asked for (100 when absent); None when it is not 1 to MAX_CHANGES."""
    if raw is None:
        return DEFAULT_HISTORY_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_CHANGES:
        return None
    return int(raw)


def _not_ready() -> Response:
    return _unavailable("the first check cycle has not finished yet")


def _unavailable(message: str) -> Response:
    return JSONResponse(
        {"error": message}, status_code=503, headers={"Retry-After": NOT_READY_RETRY_AFTER}
    )
