"""WHATSAPP_APP_ID makes a WhatsApp check two requests: its targets take two units of budget, on
the platform and for every organization."""

from __future__ import annotations

from dataclasses import replace

import pytest

from monitor.budgets import Budgets
from monitor.checks.base import CheckFailed, Reason
from monitor.clients import ProviderClients
from monitor.config import load_settings
from monitor.fleet.organizations import Organization
from monitor.fleet.targets import FleetTargets, OrganizationTarget
from monitor.fleet.wiring import Providers
from monitor.runner import Admission
from monitor.targets import build_targets
from tests.fakes.graph_numbers import APP_ID


def platform_whatsapp(monkeypatch: pytest.MonkeyPatch, app_id: str | None) -> int:
    """How many requests the platform's WhatsApp target says one run sends."""
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", "EAAGtokenForTargets")
    monkeypatch.setenv("WHATSAPP_BUSINESS_ACCOUNT_ID", "104996542523987")
    if app_id is not None:
        monkeypatch.setenv("WHATSAPP_APP_ID", app_id)
    [target] = [t for t in build_targets(load_settings()) if t.name == "whatsapp"]
    assert target.budgeted
    return target.requests


def test_platform_target__one_request_without_app_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without WHATSAPP_APP_ID the account request is the whole check."""
    assert platform_whatsapp(monkeypatch, None) == 1


def test_platform_target__two_requests_with_app_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """With WHATSAPP_APP_ID the subscribed apps are a second request, a second budget unit."""
    assert platform_whatsapp(monkeypatch, APP_ID) == 2


@pytest.mark.parametrize(("app_id", "requests"), [(None, 1), (APP_ID, 2)])
def test_fleet_targets__whatsapp_requests_follow_the_app_id(
    monkeypatch: pytest.MonkeyPatch, app_id: str | None, requests: int
) -> None:
    """Every organization's WhatsApp check takes as much budget as it sends; Stripe's one."""
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", "EAAGtokenForTargets")
    if app_id is not None:
        monkeypatch.setenv("WHATSAPP_APP_ID", app_id)
    targets = FleetTargets(load_settings(), ProviderClients(2.0))
    built = targets.target(
        Organization(id="org-1", whatsapp_business_account_id="2001"), "whatsapp"
    )

    assert isinstance(built, OrganizationTarget)
    assert built.target.requests == requests
    assert targets.requests_per_check("whatsapp") == requests
    assert targets.requests_per_check("stripe") == 1


async def test_platform_admission__takes_every_unit_within_the_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At 1 request/s, a one-request check is let through at once; a two-request one cannot get
    its second unit within 0.3 s and is held back as rate limited, before anything is sent."""
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", "EAAGtokenForTargets")
    monkeypatch.setenv("WHATSAPP_BUSINESS_ACCOUNT_ID", "104996542523987")
    monkeypatch.setenv("WHATSAPP_APP_ID", APP_ID)
    [target] = [t for t in build_targets(load_settings()) if t.name == "whatsapp"]

    def admission() -> Admission:
        budgets = Budgets({"whatsapp": 1, "stripe": 1})
        return Providers(ProviderClients(2.0), budgets).admission(0.3)

    await admission()(replace(target, requests=1))
    with pytest.raises(CheckFailed) as raised:
        await admission()(target)

    assert raised.value.reason is Reason.RATE_LIMITED
    assert "budget" in raised.value.message
