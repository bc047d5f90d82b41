"""MONITOR_API_TOKEN over real HTTP: how clients may spell the Authorization header."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.daemon import Daemon, running_daemon

TOKEN = "tok-canary-auth-5521"
FAST = {"MONITOR_INTERVAL_SECONDS": "1", "MONITOR_CHECK_TIMEOUT_SECONDS": "0.5"}


@pytest.fixture(scope="module")
def guarded_daemon() -> Iterator[Daemon]:
    """A daemon with an API token and no provider configured."""
    with running_daemon({**FAST, "MONITOR_API_TOKEN": TOKEN}) as daemon:
        yield daemon


@pytest.mark.parametrize(
    "authorization",
    [
        f"Bearer {TOKEN}",
        f"bearer {TOKEN}",
        f"BEARER {TOKEN}",
        f"bEaReR {TOKEN}",
        f"Bearer  {TOKEN}",
    ],
)
def test_bearer_token__scheme_is_case_insensitive(
    guarded_daemon: Daemon, authorization: str
) -> None:
    """Clients that write the scheme in any case (RFC 7235) get the status, not a 401."""
    response = guarded_daemon.get(
        "/api/integrations/status", headers={"Authorization": authorization}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        f"Basic {TOKEN}",
        f"Bearer {TOKEN.upper()}",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Bearer{TOKEN}",
        "Bearer",
        TOKEN,
        "",
    ],
)
def test_bearer_token__anything_but_the_exact_token_is_refused(
    guarded_daemon: Daemon, authorization: str
) -> None:
    """The token itself stays case-sensitive and exact; other schemes are refused."""
    response = guarded_daemon.get("/health", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
