"""Debian's Chromium driven by Playwright, one browser for these tests, a fresh context
(cookies, sessionStorage) per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Root in a container with no network: no sandbox, no GPU, nothing that phones home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}


# Package scope, not session: Playwright's sync API holds an event loop as the running loop
# of the main thread while it is open, and asyncio tests elsewhere cannot start theirs then.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Debian's Chromium (scripts/test installs it; `playwright install` is never used)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium package")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A desktop-sized tab in a context of its own."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone_page(browser: Browser) -> Iterator[Page]:
    """A 375 px wide tab, as on a small phone."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()
