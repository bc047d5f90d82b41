"""The scripts that install and run the tests leave the host's services alone.

A developer may run scripts/test on a host that also runs the README's systemd setup (the
daemon, Debian's Prometheus and Alertmanager): running the tests must not turn that
monitoring off, restart it or change its configuration.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.deploy.tooling import REPO_ROOT


def is_shell_script(path: Path) -> bool:
    """A bash script (by its shebang) or a file the scripts source."""
    if not path.is_file():
        return False
    return path.suffix == ".sh" or path.read_text(encoding="utf-8").startswith(
        "#!/usr/bin/env bash"
    )


SCRIPTS = sorted(
    path
    for path in [*(REPO_ROOT / "scripts").iterdir(), REPO_ROOT / ".ci" / "run"]
    if is_shell_script(path)
)
# Commands that start, stop, enable, disable or reconfigure services.
SERVICE_TOOLS = {
    "systemctl",
    "service",
    "invoke-rc.d",
    "update-rc.d",
    "deb-systemd-invoke",
    "deb-systemd-helper",
    "pg_ctlcluster",
    "pg_dropcluster",
    "pg_createcluster",
    "policy-rc.d",
}
# Debian packages whose installation starts a service that the tests run for themselves.
SERVICE_PACKAGES = {"prometheus", "prometheus-alertmanager", "prometheus-node-exporter"}


def commands(path: Path) -> list[list[str]]:
    """The words of each command line of a shell script, comments left out."""
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        for command in re.split(r"&&|\|\||;|\||\$\(|\(", line):
            try:
                words = shlex.split(command, comments=True)
            except ValueError:  # a quote that opens on this line and closes on another
                words = command.split()
            if words:
                lines.append(words)
    return lines


def test_scripts__are_found():
    """The scan below reads the scripts that install and run the tests."""
    names = {path.relative_to(REPO_ROOT).as_posix() for path in SCRIPTS}
    assert {"scripts/test", "scripts/test-floors", "scripts/venv.sh", ".ci/run"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.relative_to(REPO_ROOT).as_posix())
def test_script__never_controls_a_service_of_the_host(script: Path):
    """No systemctl, service or Debian cluster command: the host's services keep running."""
    offending = [
        " ".join(words)
        for words in commands(script)
        if SERVICE_TOOLS & {Path(word).name for word in words}
    ]
    assert not offending


def test_scripts__never_install_a_package_that_starts_a_monitoring_service():
    """Prometheus and Alertmanager are unpacked for the tests, never installed as services."""
    text = "\n".join(path.read_text(encoding="utf-8") for path in SCRIPTS)
    arrays = dict(re.findall(r"^\s*(\w+)=\(([^)]*)\)", text, flags=re.MULTILINE))
    installed = []
    for words in (w for path in SCRIPTS for w in commands(path)):
        if "apt-get" in words and "install" in words:
            for word in words:
                name = re.fullmatch(r'"?\$\{(\w+)\[@\]\}"?', word)
                installed += arrays.get(name[1], "").split() if name else [word]
    assert installed, "found no apt-get install at all"
    assert not SERVICE_PACKAGES & set(installed)
