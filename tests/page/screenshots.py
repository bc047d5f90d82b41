"""The README's screenshots of the status page, made against the fake providers.

Run from the checkout: `.venv/bin/python -m tests.page.screenshots` (writes docs/*.png).
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

from tests.fakes.providers import serve_healthy_providers
from tests.fakes.server import FakeServer
from tests.page.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE
from tests.page.scenes import platform_env, stripe_rejects_key
from tests.support.daemon import running_daemon

DOCS = Path(__file__).resolve().parents[2] / "docs"


def shoot(browser: Browser, url: str, name: str) -> None:
    """A desktop and a phone screenshot of the page at `url`, once its cards are drawn."""
    for size, viewport, scale in (("desktop", DESKTOP, 1), ("phone", PHONE, 1)):
        context = browser.new_context(
            viewport=viewport, device_scale_factor=scale, color_scheme="light"
        )
        page = context.new_page()
        page.goto(url)
        page.get_by_role("region", name="Database").wait_for()
        page.locator("#changes li").first.wait_for()
        page.screenshot(path=str(DOCS / f"status-page-{name}-{size}.png"), full_page=True)
        context.close()


def main() -> int:
    """Healthy, then Stripe rejecting its key: each on desktop and phone."""
    server = FakeServer().start()
    serve_healthy_providers(server)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            with running_daemon(platform_env(server)) as daemon:
                shoot(browser, daemon.url + "/", "healthy")
            stripe_rejects_key(server, message="Invalid API Key provided: sk_test_****2b")
            with running_daemon(platform_env(server)) as daemon:
                shoot(browser, daemon.url + "/", "degraded")
            browser.close()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
