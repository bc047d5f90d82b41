"""The organizations' WhatsApp phone numbers, summed (contract §11): numbers per quality over
every organization's latest tally, and how many organizations have no number that can send.

Running sums, updated as results arrive, so a scrape reads them in O(1) at any fleet size.
An organization's tally follows the same rule as the platform's gauges: the last result that read
its numbers counts; a result that did not (a timeout, an expired token) leaves it as it was; a
not_configured result (no WABA any more) and a removed organization take it out.
"""

from __future__ import annotations

from collections import Counter

from monitor.checks.base import Outcome, Status
from monitor.checks.whatsapp_numbers import QUALITIES, NumberTally, tally_of


class PhoneNumberTotals:
    """Per organization, the tally of its latest numbers; over all, their sums."""

    def __init__(self) -> None:
        self._tallies: dict[str, NumberTally] = {}
        self._by_quality: Counter[str] = Counter()
        self._without_sendable = 0

    def record(self, organization: str, outcome: Outcome) -> None:
        """Fold in one WhatsApp result of an organization."""
        if outcome.status is Status.NOT_CONFIGURED:
            self.drop(organization)
            return
        tally = tally_of(outcome.details)
        if tally is None:
            return
        self.drop(organization)
        self._tallies[organization] = tally
        self._count(tally, +1)

    def drop(self, organization: str) -> None:
        """Forget an organization's numbers."""
        tally = self._tallies.pop(organization, None)
        if tally is not None:
            self._count(tally, -1)

    def by_quality(self) -> dict[str, int]:
        """Numbers per quality over every organization, each quality present."""
        return {quality: self._by_quality[quality] for quality in QUALITIES}

    def organizations_without_sendable(self) -> int:
        """Organizations whose account has no number that can send (none at all included)."""
        return self._without_sendable

    def _count(self, tally: NumberTally, sign: int) -> None:
        for quality, count in tally.by_quality.items():
            self._by_quality[quality] += sign * count
        if tally.sendable == 0:
            self._without_sendable += sign
