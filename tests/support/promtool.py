"""`promtool check metrics` on an exposition, as the contract asks of /metrics."""

from __future__ import annotations

import shutil
import subprocess


def check_metrics(exposition: str) -> subprocess.CompletedProcess[str]:
    """Run promtool's linter over `exposition`; its output is empty when nothing is wrong."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: scripts/test unpacks Debian's prometheus package"
    return subprocess.run(
        [promtool, "check", "metrics"],
        input=exposition,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
