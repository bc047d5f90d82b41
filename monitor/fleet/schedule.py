"""When each (organization, integration) is due: hashed offsets inside the interval.

As Prometheus spreads scrape targets, each key's checks fall at a fixed phase of the interval,
derived from a hash of the key: stable across restarts and replicas, spread evenly, never a
burst at the start of a round. Keys added by a reload jump the queue once (due at once), then
keep their phase. A schedule that falls behind (the budget cannot cover every key once per
interval) does not check a key twice to catch up: the round stretches instead.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


def phase_of(organization: str, integration: str, interval_seconds: float) -> float:
    """The key's fixed offset inside the interval, in [0, interval)."""
    digest = hashlib.sha256(f"{organization}\x00{integration}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * interval_seconds


@dataclass(order=True)
class _Slot(Generic[K]):
    due: float
    order: int  # ties in due time keep insertion order
    key: K = field(compare=False)
    phase: float = field(compare=False)
    removed: bool = field(default=False, compare=False)


class Schedule(Generic[K]):
    """A heap of keys by due time on the wall clock (unix seconds).

    Args:
        interval_seconds: each key is due once per interval.
    """

    def __init__(self, interval_seconds: float) -> None:
        self.interval_seconds = interval_seconds
        self._heap: list[_Slot[K]] = []
        self._slots: dict[K, _Slot[K]] = {}
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, key: object) -> bool:
        return key in self._slots

    def add(self, key: K, phase: float, now: float, *, at_once: bool = False) -> None:
        """Schedule a key at its phase (the first one after `now`), or at once."""
        if key in self._slots:
            return
        due = now if at_once else self._next_phase_point(phase, now)
        self._push(key, phase, due)

    def remove(self, keys: Iterable[K]) -> None:
        """Forget keys; their heap slots are skipped lazily."""
        for key in keys:
            slot = self._slots.pop(key, None)
            if slot is not None:
                slot.removed = True

    def next_due(self) -> float | None:
        """When the earliest key is due; None when nothing is scheduled."""
        self._drop_removed()
        return self._heap[0].due if self._heap else None

    def pop_due(self, now: float) -> K | None:
        """The earliest key due by `now`, rescheduled one interval on; None if none is due."""
        self._drop_removed()
        if not self._heap or self._heap[0].due > now:
            return None
        slot = heapq.heappop(self._heap)
        del self._slots[slot.key]
        self._push(slot.key, slot.phase, self._following_due(slot, now))
        return slot.key

    def _following_due(self, slot: _Slot[K], now: float) -> float:
        following = self._next_phase_point(slot.phase, slot.due)
        if following > now:
            return following
        # More than a whole interval behind: catching up would check this key twice in a
        # row; its next turn is its next phase point instead.
        return self._next_phase_point(slot.phase, now)

    def _next_phase_point(self, phase: float, after: float) -> float:
        interval = self.interval_seconds
        rounds = (after - phase) // interval + 1
        return phase + rounds * interval

    def _push(self, key: K, phase: float, due: float) -> None:
        slot = _Slot(due, next(self._order), key, phase)
        self._slots[key] = slot
        heapq.heappush(self._heap, slot)

    def _drop_removed(self) -> None:
        while self._heap and self._heap[0].removed:
            heapq.heappop(self._heap)
