"""Helpers for tests of one check."""

from __future__ import annotations

import pytest

from monitor.checks.base import Check, CheckFailed


async def failure_of(check: Check) -> CheckFailed:
    """Run `check` and return the failure it raises; fail the test if it raises none."""
    with pytest.raises(CheckFailed) as raised:
        await check.run()
    return raised.value
