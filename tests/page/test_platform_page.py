"""The platform's status page in a real browser, against the real daemon and the fake providers."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.fakes.server import FakeServer
from tests.page.scenes import HOSTILE_MESSAGE, platform_env, stripe_healthy, stripe_rejects_key
from tests.support.daemon import Daemon, running_daemon

CARDS = {"WhatsApp", "Stripe", "Email", "Database"}
# A refresh within this long of the last check returns that check (monitor/service.py).
REFRESH_MIN_AGE_MS = 5_000


def open_page(page: Page, daemon: Daemon) -> None:
    """Open the page and wait until the cards are drawn; mark the document to catch reloads."""
    page.goto(daemon.url + "/")
    expect(page.get_by_role("region", name="Database")).to_be_visible()
    page.evaluate("window.notReloaded = true")


def card(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.get_by_role("region", name=name, exact=True)


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.notReloaded === true"), "the page was reloaded"


def test_page__shows_each_integration_and_the_overall_status(
    page: Page, fake_server: FakeServer
) -> None:
    """Healthy fakes: four cards named by integration, each Connected, overall Healthy."""
    with running_daemon(platform_env(fake_server)) as daemon:
        open_page(page, daemon)
        for name in CARDS:
            expect(card(page, name)).to_contain_text("Connected")
        expect(card(page, "Stripe")).to_contain_text("ms")  # latency
        expect(card(page, "WhatsApp")).to_contain_text("+1 555-010-0000 · CONNECTED · GREEN")
        expect(page.locator("#overall")).to_have_text("Healthy")
        expect(page.locator("#last-checked")).to_have_text(re.compile(r"^Last checked "))
        expect(page.get_by_role("heading", name="Recent changes")).to_be_visible()


def test_page__provider_error_is_degraded_and_its_markup_shown_as_text(
    page: Page, fake_server: FakeServer
) -> None:
    """A Stripe 401 whose message holds HTML: Degraded, reason auth, the markup shown literally."""
    stripe_rejects_key(fake_server)
    with running_daemon(platform_env(fake_server)) as daemon:
        open_page(page, daemon)
        stripe = card(page, "Stripe")
        expect(stripe).to_contain_text("Error")
        expect(stripe).to_contain_text("auth")
        expect(stripe).to_contain_text(HOSTILE_MESSAGE)
        expect(page.locator("#overall")).to_have_text("Degraded")
        expect(page.locator("#injected")).to_have_count(0)
        assert page.title() != "1"


def wait_past_refresh_cache(page: Page, daemon: Daemon) -> None:
    """Until the last check is old enough that Refresh checks again instead of answering it."""
    last_checked = daemon.get("/api/integrations/status").json()["last_checked"]
    page.wait_for_function(
        "([at, ms]) => Date.now() - Date.parse(at) > ms", arg=[last_checked, REFRESH_MIN_AGE_MS]
    )


def test_page_refresh__shows_loading_then_updates_cards_without_reload(
    page: Page, fake_server: FakeServer
) -> None:
    """Refresh is disabled and busy while it runs; the cards then show the new result in place."""
    with running_daemon(platform_env(fake_server)) as daemon:
        open_page(page, daemon)
        stripe_rejects_key(fake_server, delay=1.0)
        wait_past_refresh_cache(page, daemon)
        button = page.get_by_role("button", name="Refresh")
        button.click()
        expect(button).to_be_disabled()
        expect(button).to_have_attribute("aria-busy", "true")
        expect(card(page, "Stripe")).to_contain_text("Error")
        expect(button).to_be_enabled()
        expect(button).to_have_attribute("aria-busy", "false")
        expect(page.locator("#overall")).to_have_text("Degraded")
        expect(page.locator("[aria-live=polite]")).to_contain_text("Stripe is now Error")
        assert_not_reloaded(page)


def test_page_refresh__works_by_keyboard_alone(page: Page, fake_server: FakeServer) -> None:
    """Tab reaches Refresh, Enter runs it, and focus is still on it afterwards."""
    with running_daemon(platform_env(fake_server)) as daemon:
        open_page(page, daemon)
        stripe_rejects_key(fake_server, delay=0.5)
        wait_past_refresh_cache(page, daemon)
        button = page.get_by_role("button", name="Refresh")
        for _ in range(10):
            page.keyboard.press("Tab")
            if button.evaluate("node => node === document.activeElement"):
                break
        expect(button).to_be_focused()
        page.keyboard.press("Enter")
        expect(card(page, "Stripe")).to_contain_text("Error")
        expect(button).to_be_enabled()
        expect(button).to_be_focused()
        assert_not_reloaded(page)


def test_page__rereads_the_status_every_ui_refresh_seconds(
    page: Page, fake_server: FakeServer
) -> None:
    """With MONITOR_UI_REFRESH_SECONDS=1 a new check result appears without touching the page."""
    env = platform_env(
        fake_server,
        MONITOR_UI_REFRESH_SECONDS="1",
        MONITOR_INTERVAL_SECONDS="2",
        MONITOR_CHECK_TIMEOUT_SECONDS="1",
    )
    with running_daemon(env) as daemon:
        open_page(page, daemon)
        expect(page.locator("#cadence")).to_contain_text("every 1 s")
        stripe_rejects_key(fake_server)
        expect(card(page, "Stripe")).to_contain_text("Error")
        expect(page.locator("#changes")).to_contain_text("Stripe: Connected → Error")
        stripe_healthy(fake_server)
        expect(card(page, "Stripe")).to_contain_text("Connected")
        assert_not_reloaded(page)


def test_page__stopped_daemon_is_unreachable_and_stale_with_the_last_data_kept(
    page: Page, fake_server: FakeServer
) -> None:
    """The daemon stops: "Unreachable" and when it was last reached, then stale; cards stay."""
    env = platform_env(
        fake_server,
        MONITOR_UI_REFRESH_SECONDS="1",
        MONITOR_INTERVAL_SECONDS="2",
        MONITOR_CHECK_TIMEOUT_SECONDS="1",
    )
    with running_daemon(env) as daemon:
        open_page(page, daemon)
        expect(page.locator("#stale")).to_be_hidden()
        assert daemon.terminate() == 0
        unreachable = page.locator("#unreachable")
        expect(unreachable).to_contain_text("Unreachable: last reached")
        expect(page.locator("#stale")).to_be_visible()
        expect(card(page, "Stripe")).to_contain_text("Connected")
        expect(page.locator("#overall")).to_have_text("Healthy")
        assert_not_reloaded(page)


def test_page_token__asked_once_kept_for_the_tab_and_wrong_one_said(
    page: Page, fake_server: FakeServer
) -> None:
    """With a token set the page asks for it, says a wrong one is wrong, and keeps a right one."""
    token = "page-token-canary-0123456789"
    with running_daemon(platform_env(fake_server, MONITOR_API_TOKEN=token)) as daemon:
        page.goto(daemon.url + "/")
        field = page.get_by_label("API token")
        expect(page.locator("#token-form")).to_contain_text("Unauthorized")
        field.fill("not-the-right-token-42")
        page.get_by_role("button", name="Use token").click()
        expect(page.locator("#token-form")).to_contain_text("Wrong token")
        field.fill(token)
        field.press("Enter")
        expect(card(page, "Stripe")).to_contain_text("Connected")
        expect(page.locator("#token-form")).to_be_hidden()
        page.reload()
        expect(card(page, "Stripe")).to_contain_text("Connected")
        expect(page.locator("#token-form")).to_be_hidden()
        assert page.evaluate("Object.values(sessionStorage)") == [token]


def test_page__fits_375_px_without_horizontal_scroll(
    phone_page: Page, fake_server: FakeServer
) -> None:
    """On a small phone, long provider text wraps: nothing is wider than the screen."""
    stripe_rejects_key(fake_server, message="Invalid_API_key_" * 12)
    with running_daemon(platform_env(fake_server)) as daemon:
        open_page(phone_page, daemon)
        expect(phone_page.locator("#changes li")).to_have_count(4)
        width = phone_page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375
        expect(phone_page.get_by_role("button", name="Refresh")).to_be_in_viewport()


def test_page__follows_the_dark_color_scheme(browser: Browser, fake_server: FakeServer) -> None:
    """A browser set to dark gets a dark page, and light a light one."""
    backgrounds = {}
    with running_daemon(platform_env(fake_server)) as daemon:
        for scheme in ("light", "dark"):
            context = browser.new_context(color_scheme=scheme)
            tab = context.new_page()
            tab.goto(daemon.url + "/")
            expect(tab.get_by_role("region", name="Stripe")).to_contain_text("Connected")
            backgrounds[scheme] = tab.evaluate("getComputedStyle(document.body).backgroundColor")
            context.close()
    assert backgrounds == {"light": "rgb(245, 246, 248)", "dark": "rgb(15, 18, 22)"}
