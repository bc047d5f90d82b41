"""The status page (§9): a static HTML, CSS and JavaScript bundle that reads the JSON API.

The files hold no data, so they need no token; the page asks for the token itself when the
API answers 401. Everything comes from the daemon, under a Content-Security-Policy that
allows nothing else: no inline script or style, no other origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The files change only with the package; revalidating costs little and never serves an
    # old script to a new daemon.
    "Cache-Control": "no-cache",
}
_ASSETS = {
    "page.css": "text/css; charset=utf-8",
    "page.js": "text/javascript; charset=utf-8",
}


@dataclass(frozen=True)
class PageConfig:
    """What the page needs to know that is not in the API's answers.

    Args:
        refresh_seconds: MONITOR_UI_REFRESH_SECONDS, how often the page re-reads the status.
        interval_seconds: the platform's check interval (data older than two is stale).
        organization_interval_seconds: the organizations' check interval; None without a fleet.
    """

    refresh_seconds: float = 60.0
    interval_seconds: float = 60.0
    organization_interval_seconds: float | None = None

    def to_json(self) -> dict[str, object]:
        """The page's configuration document (no secret, no data)."""
        return {
            "refresh_seconds": self.refresh_seconds,
            "interval_seconds": self.interval_seconds,
            "organization_interval_seconds": self.organization_interval_seconds,
            "fleet": self.organization_interval_seconds is not None,
        }


def _read(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


def page_routes(config: PageConfig) -> list[Route]:
    """`/`, the assets, the page's configuration and, with a fleet, `/organizations/{id}`."""
    html = _read("index.html")
    assets = {name: (_read(name), media_type) for name, media_type in _ASSETS.items()}

    async def page(_: Request) -> Response:
        return Response(html, media_type="text/html; charset=utf-8", headers=_HEADERS)

    async def asset(request: Request) -> Response:
        found = assets.get(request.path_params["name"])
        if found is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        body, media_type = found
        return Response(body, media_type=media_type, headers=_HEADERS)

    async def page_config(_: Request) -> Response:
        return JSONResponse(config.to_json(), headers={"Cache-Control": "no-store"})

    routes = [
        Route("/", page, methods=["GET"]),
        Route("/ui/config", page_config, methods=["GET"]),
        Route("/ui/{name}", asset, methods=["GET"]),
    ]
    if config.organization_interval_seconds is not None:
        routes.append(Route("/organizations/{organization}", page, methods=["GET"]))
    return routes
