"""The dependency ranges of pyproject.toml and the lock the image is built from.

The image installs requirements.lock and nothing else, so a dependency missing from it, or
pinned outside what pyproject.toml allows, breaks the build or ships an untested version.
scripts/test installs the test environment within the same lock, which lets these tests walk
the real dependency tree through the installed packages' metadata.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.deploy.tooling import REPO_ROOT

LOCK = REPO_ROOT / "requirements.lock"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def runtime_requirements() -> list[Requirement]:
    """The `dependencies` of pyproject.toml."""
    with (REPO_ROOT / "pyproject.toml").open("rb") as file:
        return [Requirement(line) for line in tomllib.load(file)["project"]["dependencies"]]


def locked_versions() -> dict[str, Version]:
    """Package name (canonical) to the version requirements.lock pins."""
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match:
            pins[canonicalize_name(match[1])] = Version(match[2])
    return pins


def _installed_at_locked_version(name: str, locked: Version) -> metadata.Distribution | None:
    try:
        distribution = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    return distribution if Version(distribution.version) == locked else None


def requirement_tree(pins: dict[str, Version]) -> Iterator[tuple[str, Requirement]]:
    """(who asks, requirement) for every requirement that applies on Linux and Python 3.11,
    reached from pyproject.toml through the metadata of the packages installed here."""
    pending = [("pyproject.toml", requirement) for requirement in runtime_requirements()]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        parent, requirement = pending.pop()
        yield parent, requirement
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen or name not in pins:
            continue
        seen.add(key)
        distribution = _installed_at_locked_version(name, pins[name])
        for text in (distribution.requires or []) if distribution else []:
            child = Requirement(text)
            extras = requirement.extras or {""}
            if child.marker is None or any(child.marker.evaluate({"extra": e}) for e in extras):
                pending.append((name, child))


def test_lock__pins_every_runtime_dependency_within_its_range():
    """Each dependency (direct or not) is in the lock, at a version its dependants accept."""
    pins = locked_versions()
    problems = []
    for parent, requirement in requirement_tree(pins):
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{name} (needed by {parent}) is not in requirements.lock")
        elif not requirement.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{name}=={pins[name]} is outside {parent}'s {requirement}")
    assert not problems, "\n".join(problems)


def test_lock__every_pin_carries_a_hash():
    """The image build checks each download against the lock (pip --require-hashes)."""
    entries = re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text(encoding="utf-8"))
    unhashed = [
        entry.split()[0] for entry in entries if _PIN.match(entry) and "--hash=" not in entry
    ]
    assert locked_versions(), "requirements.lock pins nothing"
    assert not unhashed


def test_pyproject__every_runtime_dependency_has_a_floor():
    """No dependency is open-ended downwards: scripts/test-floors installs each floor."""
    floorless = [
        str(requirement)
        for requirement in runtime_requirements()
        if not any(spec.operator == ">=" for spec in requirement.specifier)
    ]
    assert not floorless


def test_pyproject__uvicorn_stops_at_the_next_untested_minor():
    """monitor/http_server.py extends uvicorn's internals: a new minor is allowed only once
    tested, so uvicorn's ceiling is the minor after the one the lock (and the tests) use."""
    [uvicorn] = [r for r in runtime_requirements() if canonicalize_name(r.name) == "uvicorn"]
    ceilings = [Version(spec.version) for spec in uvicorn.specifier if spec.operator == "<"]
    tested = locked_versions()["uvicorn"]
    assert ceilings == [Version(f"{tested.major}.{tested.minor + 1}")], uvicorn
