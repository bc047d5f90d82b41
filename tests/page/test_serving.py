"""How the daemon serves the page: open assets under a strict CSP, the page's settings, the
change history behind the token."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from monitor.checks.base import CheckFailed, CheckResult, Outcome, Reason
from monitor.config import ConfigError, load_settings
from monitor.history import ChangeHistory
from tests.fakes.server import FakeServer
from tests.page.scenes import platform_env, stripe_rejects_key
from tests.support.daemon import running_daemon

TOKEN = "serving-token-canary-0123456789"
PAGE_FILES = ("/", "/ui/page.css", "/ui/page.js")


def test_page_serving__files_need_no_token_and_allow_nothing_foreign(
    fake_server: FakeServer,
) -> None:
    """Page and assets answer without the token, under a CSP allowing only the daemon itself."""
    with running_daemon(platform_env(fake_server, MONITOR_API_TOKEN=TOKEN)) as daemon:
        for path in PAGE_FILES:
            response = daemon.get(path)
            assert response.status_code == 200, path
            policy = response.headers["content-security-policy"]
            assert "default-src 'self'" in policy
            assert "unsafe-inline" not in policy
            assert "unsafe-eval" not in policy
            assert not re.search(r"https?:|\*", policy)
        html = daemon.get("/").text
        # No inline script or style, no data: every script comes from a file, data from the API.
        assert re.findall(r"<script[^>]*>", html) == ['<script src="/ui/page.js" defer>']
        assert "<style" not in html
        assert " style=" not in html
        assert "Connected" not in html
        assert daemon.get("/api/integrations/history").status_code == 401


def test_page_serving__ui_config_gives_refresh_and_intervals(fake_server: FakeServer) -> None:
    """The page learns MONITOR_UI_REFRESH_SECONDS and the check interval, without a token."""
    env = platform_env(fake_server, MONITOR_API_TOKEN=TOKEN, MONITOR_UI_REFRESH_SECONDS="1")
    with running_daemon(env) as daemon:
        config = daemon.get("/ui/config").json()
    assert config == {
        "refresh_seconds": 1.0,
        "interval_seconds": 300.0,
        "organization_interval_seconds": None,
        "fleet": False,
    }


def test_page_serving__organization_pages_only_in_fleet_mode(fake_server: FakeServer) -> None:
    """Without an organization source there is no organization page to open."""
    with running_daemon(platform_env(fake_server)) as daemon:
        assert daemon.get("/organizations/org-0001").status_code == 404


@pytest.mark.parametrize("value", ["0.5", "0", "-1", "nan"])
def test_settings__ui_refresh_below_one_second_is_bad_configuration(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """MONITOR_UI_REFRESH_SECONDS under 1 (or not a number) is named as the problem."""
    monkeypatch.setenv("MONITOR_UI_REFRESH_SECONDS", value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert any(p.startswith("MONITOR_UI_REFRESH_SECONDS") for p in caught.value.problems)


def test_settings__ui_refresh_defaults_to_60_and_takes_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """60 s by default; any value of at least 1 is accepted."""
    assert load_settings().monitor_ui_refresh_seconds == 60
    monkeypatch.setenv("MONITOR_UI_REFRESH_SECONDS", "1")
    assert load_settings().monitor_ui_refresh_seconds == 1


def test_history_endpoint__latest_changes_newest_first(fake_server: FakeServer) -> None:
    """Each change says what, from, to, why and when; newest first; `limit` bounds it."""
    stripe_rejects_key(fake_server, message="Invalid API Key provided")
    with running_daemon(platform_env(fake_server, MONITOR_API_TOKEN=TOKEN)) as daemon:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        changes = daemon.get("/api/integrations/history", headers=auth).json()["changes"]
        assert {c["integration"] for c in changes} == {"whatsapp", "stripe", "email", "database"}
        [stripe] = [c for c in changes if c["integration"] == "stripe"]
        assert stripe["previous"] == "unknown"
        assert stripe["current"] == "error"
        assert stripe["reason"] == "auth"
        assert "Invalid API Key provided" in stripe["message"]
        assert set(stripe) == {"integration", "previous", "current", "reason", "message", "at"}
        limited = daemon.get("/api/integrations/history?limit=1", headers=auth).json()
        assert len(limited["changes"]) == 1
        for bad in ("0", "1001", "ten", "-1"):
            answer = daemon.get(f"/api/integrations/history?limit={bad}", headers=auth)
            assert answer.status_code == 400, bad


def test_change_history__keeps_the_latest_thousand_newest_first() -> None:
    """A storm of changes costs a bounded memory; readers get the newest first."""
    history = ChangeHistory()
    failure = CheckFailed(Reason.AUTH, "Stripe: Invalid API Key provided")
    failed = CheckResult(Outcome.failed(failure), datetime.now(UTC), 12.0)
    for n in range(1500):
        history.record("stripe", "connected", failed.status, failed, organization=f"org-{n}")
    latest = history.latest(1000)
    assert len(latest) == 1000
    assert [c.organization for c in latest[:2]] == ["org-1499", "org-1498"]
    assert latest[-1].organization == "org-500"
    assert [c.organization for c in history.latest(5, organization="org-700")] == ["org-700"]
