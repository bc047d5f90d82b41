"""Counting requests in sliding windows, as a provider's rate limiter would."""

from __future__ import annotations

from collections.abc import Iterable


def most_in_any_window(timestamps: Iterable[float], width: float = 1.0) -> int:
    """The most timestamps that fall inside any half-open window [t, t + width)."""
    ordered = sorted(timestamps)
    most = start = 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - width:
            start += 1
        most = max(most, end - start + 1)
    return most
