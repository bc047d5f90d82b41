"""Clocks for tests: time that moves only when a test says so."""

from __future__ import annotations


class FakeMonotonic:
    """A monotonic clock that moves only when told (`clock.now += 5`)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now
