"""Fleet configuration: defaults, one source at most, what fleet mode needs, all problems."""

from __future__ import annotations

import pytest

from monitor.config import ConfigError, load_settings
from monitor.fleet.settings import is_loopback_host


def problems_of(**variables: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_settings(**{name.lower(): value for name, value in variables.items()})
    return raised.value.problems


def test_fleet_settings__defaults_match_the_contract() -> None:
    """Without a source there is no fleet; the documented defaults apply."""
    settings = load_settings()
    assert settings.organization_source is None
    assert settings.monitor_organization_interval_seconds == 300
    assert settings.monitor_organizations_reload_seconds == 300
    assert (settings.monitor_whatsapp_max_rps, settings.monitor_stripe_max_rps) == (10, 5)
    assert settings.monitor_stripe_fleet_mode == "retrieve"
    assert settings.monitor_organization_metrics_limit == 500


def test_fleet_settings__two_sources_are_refused() -> None:
    """A file and a query at once is a mistake, said in one line."""
    problems = problems_of(
        MONITOR_ORGANIZATIONS_FILE="orgs.yaml",
        MONITOR_ORGANIZATIONS_QUERY="select id from organizations",
        MONITOR_HOST="127.0.0.1",
    )
    assert any("at most one of MONITOR_ORGANIZATIONS_FILE" in p for p in problems)


def test_fleet_settings__every_missing_piece_is_listed_on_its_own_line() -> None:
    """A query without DATABASE_URL, a too-short interval and an open listener: three lines."""
    problems = problems_of(
        MONITOR_ORGANIZATIONS_QUERY="select id from organizations",
        MONITOR_ORGANIZATION_INTERVAL_SECONDS="5",
    )
    assert problems == [
        "MONITOR_ORGANIZATION_INTERVAL_SECONDS must be greater than MONITOR_CHECK_TIMEOUT_SECONDS",
        "MONITOR_ORGANIZATIONS_QUERY needs DATABASE_URL",
        "fleet mode serves organization names and ids: set MONITOR_API_TOKEN,"
        " or listen on a loopback MONITOR_HOST",
    ]


def test_fleet_settings__token_or_loopback_is_enough() -> None:
    """With a token, or on a loopback address, fleet mode starts."""
    on_loopback = load_settings(monitor_organizations_file="o.yaml", monitor_host="127.0.0.1")
    assert on_loopback.organization_source == "file"
    with_token = load_settings(monitor_organizations_file="o.yaml", monitor_api_token="s3cret")
    assert with_token.organization_source == "file"


def test_fleet_settings__table_names_and_modes_are_checked() -> None:
    """A table name that is not one, an unknown Stripe mode and a zero budget are named."""
    problems = problems_of(
        MONITOR_ORGANIZATIONS_TABLE="orgs; drop table x",
        MONITOR_STRIPE_FLEET_MODE="scan",
        MONITOR_WHATSAPP_MAX_RPS="0",
        MONITOR_HOST="127.0.0.1",
    )
    assert any(p.startswith("MONITOR_ORGANIZATIONS_TABLE: should be a table") for p in problems)
    assert any(p.startswith("MONITOR_STRIPE_FLEET_MODE") for p in problems)
    assert any(p.startswith("MONITOR_WHATSAPP_MAX_RPS") for p in problems)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
    ],
)
def test_is_loopback_host(host: str, loopback: bool) -> None:
    """Only addresses that answer this machine alone count as loopback."""
    assert is_loopback_host(host) is loopback
