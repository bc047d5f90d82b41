"""The container image recipe: linted by hadolint, and its health check run for real."""

from __future__ import annotations

import fnmatch
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.deploy.tooling import (
    REPO_ROOT,
    dockerfile_healthcheck_command,
    dockerfile_instructions,
    run,
    tool,
)

DOCKERFILE = REPO_ROOT / "Dockerfile"


def final_stage() -> list[tuple[str, str]]:
    steps = dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def builder_copy_sources() -> list[str]:
    """What the build stage copies from the build context (not from another stage)."""
    sources = []
    for keyword, arguments in dockerfile_instructions():
        if keyword == "COPY" and "--from" not in arguments:
            sources.extend(arguments.split()[:-1])
    return sources


def test_dockerfile__hadolint_reports_nothing():
    """hadolint, the Dockerfile linter, finds no problem at any severity, style included."""
    result = run([tool("hadolint"), "--failure-threshold", "style", str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert not result.stdout.strip(), result.stdout


def test_dockerfile__base_image_is_pinned_to_a_patch_release():
    """Rebuilding the image next month gives the same Python, not whatever 3.11 is then."""
    base = next(arguments for keyword, arguments in dockerfile_instructions() if keyword == "ARG")
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base)


def builder_runs() -> list[str]:
    """The RUN instructions of the build stage, continuation lines joined."""
    steps = dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return [arguments for keyword, arguments in steps[:last_from] if keyword == "RUN"]


def test_dockerfile__dependencies_come_from_the_lock_only():
    """The image holds exactly the versions of requirements.lock, each checked by its hash;
    the wheel adds nothing the lock lacks, and a lock missing a dependency fails the build."""
    assert "requirements.lock" in builder_copy_sources()
    [run_step] = builder_runs()
    installs = [command.split() for command in run_step.split("&&") if " install " in command]
    assert len(installs) == 2, installs
    from_lock, wheel = installs
    assert "--require-hashes" in from_lock
    assert "--no-deps" in from_lock
    assert from_lock[from_lock.index("-r") + 1] == "requirements.lock"
    assert "--no-deps" in wheel
    assert any(word.endswith(".whl") for word in wheel)
    assert run_step.rstrip().endswith("bin/python check"), "pip check must close the build"


def test_dockerfile__runs_as_a_numeric_non_root_user():
    """The container does not run as root, and Kubernetes' runAsNonRoot can verify that."""
    users = [arguments for keyword, arguments in final_stage() if keyword == "USER"]
    assert users == ["${MONITOR_UID}:${MONITOR_UID}"]
    assert ("ARG", "MONITOR_UID=10001") in final_stage()


def test_dockerfile__starts_the_daemon_on_the_documented_port():
    """`docker run IMAGE` starts `integration-monitor run` listening on 9477."""
    steps = final_stage()
    assert ("EXPOSE", "9477") in steps
    assert ("ENTRYPOINT", '["integration-monitor"]') in steps
    assert ("CMD", '["run"]') in steps


class _LivezHandler(BaseHTTPRequestHandler):
    status = 200
    paths: list[str]

    def do_GET(self) -> None:
        self.paths.append(self.path)
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Keep the test output quiet."""


@contextmanager
def livez_server(status: int) -> Iterator[tuple[int, list[str]]]:
    """A stand-in daemon on a free loopback port that answers every GET with `status`."""
    paths: list[str] = []
    handler = type("Handler", (_LivezHandler,), {"status": status, "paths": paths})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], paths
    finally:
        server.shutdown()
        server.server_close()


def run_healthcheck(port: int) -> int:
    command = dockerfile_healthcheck_command()
    assert command[0] == "python", "the image has no curl; the check must use the interpreter"
    env = {**os.environ, "MONITOR_PORT": str(port)}
    return run([sys.executable, *command[1:]], env=env).returncode


def test_dockerfile_healthcheck__passes_when_livez_answers_200():
    """Docker marks the container healthy while /livez answers 200."""
    with livez_server(200) as (port, paths):
        assert run_healthcheck(port) == 0
    assert paths == ["/livez"]


def test_dockerfile_healthcheck__fails_when_livez_answers_503():
    """Docker marks the container unhealthy once /livez stops answering 200."""
    with livez_server(503) as (port, _):
        assert run_healthcheck(port) != 0


def dockerignore_includes(name: str) -> bool:
    """Whether a top-level name reaches the build context (last matching pattern wins)."""
    included = True
    for raw in (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        if fnmatch.fnmatch(name, pattern.lstrip("!").rstrip("/")):
            included = negated
    return included


def test_dockerignore__sends_the_build_inputs_and_no_secrets():
    """The build finds every file it copies, and a local .env never ends up in an image layer."""
    sources = [source.rstrip("/") for source in builder_copy_sources()]
    assert sources, "the build stage copies nothing"
    for source in sources:
        assert (REPO_ROOT / source).exists(), f"{source} is copied but not in the repository"
        assert dockerignore_includes(source), f"{source} is copied but .dockerignore drops it"
    for private in (".env", ".venv", ".git", "tests"):
        assert not dockerignore_includes(private), f"{private} would be sent to the builder"
