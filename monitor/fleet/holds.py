"""Provider rate limits in the scope the provider gives them (§8.3).

Graph code 4 is application-wide: every Graph check waits. Codes 17 and 613 are per token:
every check with that token waits. 80007, 130429 (and any other limit) name one WhatsApp
Business Account: only its checks wait. A Stripe 429 is account-wide: every Stripe check waits
for its Retry-After or, without one, for a backoff that doubles from 1 s up to the interval.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from datetime import datetime

from monitor.budgets import Budgets
from monitor.checks.base import CheckResult, Reason
from monitor.fleet.organizations import Organization

_APPLICATION_CODES = frozenset({4})
_TOKEN_CODES = frozenset({17, 613})
FIRST_BACKOFF_SECONDS = 1.0


def token_key(token: str) -> str:
    """A token's identity for holds, without keeping the token itself around."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class ProviderHolds:
    """Who must wait, and until when.

    Args:
        budgets: provider-wide holds go to the provider's budget.
        interval_seconds: the longest backoff.
        monotonic: the clock of holds.
        wall_clock: unix time now, to read `next_attempt_at`.
    """

    def __init__(
        self,
        budgets: Budgets,
        interval_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._budgets = budgets
        self._interval = interval_seconds
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._until: dict[tuple[str, str], float] = {}
        self._stripe_backoff = FIRST_BACKOFF_SECONDS

    def is_held(self, organization: Organization, token: str | None, integration: str) -> bool:
        """Whether this organization's check of `integration` must wait now.

        `token` is the fingerprint (`token_key`) of the token the check sends.
        """
        if integration != "whatsapp":
            return False
        now = self._monotonic()
        keys = [("waba", organization.whatsapp_business_account_id or "")]
        if token is not None:
            keys.append(("token", token))
        return any(self._until.get(key, 0.0) > now for key in keys)

    def apply(
        self, organization: Organization, token: str | None, integration: str, result: CheckResult
    ) -> None:
        """Remember a rate limit the result reports (or forget the Stripe backoff on success).

        `token` is the fingerprint of the token the check sent.
        """
        if result.reason is not Reason.RATE_LIMITED:
            if integration == "stripe" and result.attempts:
                self._stripe_backoff = FIRST_BACKOFF_SECONDS
            return
        wait = self._wait_of(result.outcome.details)
        if integration == "stripe":
            self._hold_stripe(wait)
            return
        code = result.outcome.details.get("code")
        seconds = wait or self._interval
        if code in _APPLICATION_CODES:
            self._budgets["whatsapp"].hold(seconds)
        elif code in _TOKEN_CODES and token is not None:
            self._hold(("token", token), seconds)
        else:
            self._hold(("waba", organization.whatsapp_business_account_id or ""), seconds)

    def _hold_stripe(self, wait: float | None) -> None:
        if wait is None:
            wait = self._stripe_backoff
            self._stripe_backoff = min(self._stripe_backoff * 2, self._interval)
        self._budgets["stripe"].hold(wait)

    def _hold(self, key: tuple[str, str], seconds: float) -> None:
        now = self._monotonic()
        self._until = {k: until for k, until in self._until.items() if until > now}
        self._until[key] = max(self._until.get(key, 0.0), now + seconds)

    def _wait_of(self, details: Mapping[str, object]) -> float | None:
        when = details.get("next_attempt_at")
        if not isinstance(when, str):
            return None
        try:
            moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            return None
        return max(0.0, moment.timestamp() - self._wall_clock()) or None
