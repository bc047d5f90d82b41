"""Where the deployment files and the tools that check them are."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"


def tool(name: str) -> str:
    """The path of a command-line tool, preferring the one installed beside this interpreter.

    Tools installed from PyPI (hadolint, kubectl, docker-compose) land in the interpreter's
    bin directory, which is not on PATH when pytest is started by its full path.
    """
    beside_interpreter = Path(sys.executable).parent / name
    if beside_interpreter.is_file():
        return str(beside_interpreter)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; scripts/test installs it")
    return found


def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a tool to completion, capturing its text output; never raises on exit codes."""
    return subprocess.run(args, capture_output=True, text=True, timeout=300, check=False, **kwargs)


def load_yaml(path: Path) -> Any:
    """The one YAML document in a file."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(KEYWORD, arguments) of every Dockerfile instruction, continuation lines joined."""
    text = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
    joined = re.sub(r"\\\n(?:\s*#.*\n)*", " ", text)
    pairs = []
    for line in joined.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, arguments = line.strip().partition(" ")
            pairs.append((keyword.upper(), arguments.strip()))
    return pairs


def dockerfile_healthcheck_command() -> list[str]:
    """The exec-form command of the Dockerfile's HEALTHCHECK."""
    [arguments] = [args for keyword, args in dockerfile_instructions() if keyword == "HEALTHCHECK"]
    command: list[str] = json.loads(arguments.split(" CMD ", 1)[1])
    return command
