"""The organization directory: loads, reloads, keeps the last good list, logs skipped rows."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from monitor.fleet.directory import MAX_LOGGED_ROWS, OrganizationDirectory
from monitor.fleet.sources import FileSource, SourceError
from tests.support.clocks import FakeMonotonic
from tests.support.waiting import wait_until

TOKEN = "EAAGcanaryDirectoryToken1f2e"


class FileOfOrganizations:
    """An organizations file a test rewrites between reloads."""

    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "organizations.json"

    def write(self, *rows: Any) -> None:
        self.path.write_text(json.dumps({"organizations": list(rows)}))

    def directory(self, clock: FakeMonotonic | None = None, **kwargs: Any) -> OrganizationDirectory:
        return OrganizationDirectory(FileSource(self.path), clock or FakeMonotonic(), **kwargs)


@pytest.fixture
def organizations_file(tmp_path: Path) -> FileOfOrganizations:
    """An organizations file in a fresh directory."""
    return FileOfOrganizations(tmp_path)


def ids(directory: OrganizationDirectory) -> list[str]:
    return [organization.id for organization in directory]


async def test_directory__first_load(organizations_file: FileOfOrganizations) -> None:
    """The first load adds every good organization and marks the source up."""
    organizations_file.write({"id": "b"}, {"id": "a", "name": "Acme"})
    clock = FakeMonotonic(1_700_000_000.0)
    directory = organizations_file.directory(clock)
    assert (directory.up, directory.last_success, len(directory)) == (False, None, 0)

    change = await directory.reload()

    assert change.added == ("a", "b")
    assert (change.removed, change.changed, change.invalid_rows) == ((), (), 0)
    assert directory.up
    assert directory.last_success == 1_700_000_000.0
    assert directory.source.kind == "file"


async def test_directory__lookup_and_order(organizations_file: FileOfOrganizations) -> None:
    """Organizations are found by id and listed in id order, whatever the source's order."""
    organizations_file.write({"id": "zeta"}, {"id": "alpha", "name": "Alpha"}, {"id": "mid"})
    directory = organizations_file.directory()
    await directory.reload()

    assert ids(directory) == ["alpha", "mid", "zeta"]
    found = directory.get("alpha")
    assert found is not None
    assert found.name == "Alpha"
    assert directory.get("nobody") is None
    assert "zeta" in directory
    assert "nobody" not in directory


async def test_directory__reload_reports_changes(organizations_file: FileOfOrganizations) -> None:
    """A reload says which organizations were added, removed, or changed (a new token)."""
    organizations_file.write({"id": "a"}, {"id": "b", "whatsapp_access_token": "old-token"})
    directory = organizations_file.directory()
    await directory.reload()
    organizations_file.write({"id": "b", "whatsapp_access_token": TOKEN}, {"id": "c"})

    change = await directory.reload()

    assert (change.added, change.removed, change.changed) == (("c",), ("a",), ("b",))
    assert ids(directory) == ["b", "c"]
    assert directory.get("a") is None


async def test_directory__failed_reload_keeps_last_good_list(
    organizations_file: FileOfOrganizations,
) -> None:
    """A reload that fails keeps the organizations and last success; the source shows down."""
    organizations_file.write({"id": "a"}, {"id": "b"})
    clock = FakeMonotonic(1_700_000_000.0)
    directory = organizations_file.directory(clock)
    await directory.reload()
    organizations_file.path.write_text("{not json")
    clock.now += 300

    with capture_logs() as events, pytest.raises(SourceError, match="is not valid JSON"):
        await directory.reload()

    assert ids(directory) == ["a", "b"]
    assert not directory.up
    assert directory.last_success == 1_700_000_000.0
    (event,) = events
    assert event["event"] == "organizations.load_failed"
    assert event["source"] == "file"
    assert "is not valid JSON" in event["error"]


async def test_directory__recovers_after_a_failed_reload(
    organizations_file: FileOfOrganizations,
) -> None:
    """The next good load after a failure brings the source back up with the new list."""
    directory = organizations_file.directory()
    with pytest.raises(SourceError):
        await directory.reload()  # the file does not exist yet
    organizations_file.write({"id": "a"})

    change = await directory.reload()

    assert directory.up
    assert change.added == ("a",)


async def test_directory__skipped_rows_logged_without_secrets(
    organizations_file: FileOfOrganizations,
) -> None:
    """Each bad row is one warning with its row, id and problem, and never the token."""
    organizations_file.write(
        {"id": "good", "whatsapp_access_token": TOKEN},
        {"id": "short", "whatsapp_access_token": "ab"},
        {"id": "spaced", "whatsapp_access_token": f"{TOKEN} {TOKEN}"},
        {"name": "no id", "whatsapp_access_token": TOKEN},
        {"id": "good", "whatsapp_access_token": TOKEN},
    )
    directory = organizations_file.directory()

    with capture_logs() as events:
        change = await directory.reload()

    skipped = [e for e in events if e["event"] == "organizations.row_skipped"]
    assert [(e["row"], e["organization"], e["problem"]) for e in skipped] == [
        (2, "short", "whatsapp_access_token is shorter than 3 characters"),
        (3, "spaced", "whatsapp_access_token holds whitespace"),
        (4, None, "missing id"),
        (5, "good", "duplicate id"),
    ]
    assert all(e["log_level"] == "warning" for e in skipped)
    assert TOKEN not in repr(events)
    assert TOKEN not in repr(change)
    assert ids(directory) == ["good"]
    assert directory.invalid_rows == change.invalid_rows == 4


async def test_directory__many_skipped_rows_are_counted(
    organizations_file: FileOfOrganizations,
) -> None:
    """When every row is bad (a renamed column), the log gets a bounded number of lines."""
    organizations_file.write(
        *({"organization_id": f"org-{n}"} for n in range(MAX_LOGGED_ROWS + 50))
    )
    directory = organizations_file.directory()

    with capture_logs() as events:
        change = await directory.reload()

    skipped = [e for e in events if e["event"] == "organizations.row_skipped"]
    (summary,) = [e for e in events if e["event"] == "organizations.rows_skipped"]
    assert len(skipped) == MAX_LOGGED_ROWS
    assert (summary["skipped"], summary["not_logged"]) == (MAX_LOGGED_ROWS + 50, 50)
    assert change.invalid_rows == MAX_LOGGED_ROWS + 50


async def test_directory__load_logged_with_counts(organizations_file: FileOfOrganizations) -> None:
    """A successful load is one info line with what it changed."""
    organizations_file.write({"id": "a"}, {"id": "b"}, {"id": 3})
    directory = organizations_file.directory()

    with capture_logs() as events:
        await directory.reload()

    (loaded,) = [e for e in events if e["event"] == "organizations.loaded"]
    assert loaded["log_level"] == "info"
    assert (loaded["organizations"], loaded["added"], loaded["removed"]) == (2, 2, 0)
    assert loaded["invalid_rows"] == 1


async def test_directory__owns_filters_where_organizations_enter(
    organizations_file: FileOfOrganizations,
) -> None:
    """Only the organizations this process owns are kept; bad rows are still counted."""
    organizations_file.write({"id": "a1"}, {"id": "b1"}, {"id": "a2"}, {"id": "bad id"})
    directory = organizations_file.directory(owns=lambda organization_id: organization_id[0] == "a")

    change = await directory.reload()

    assert ids(directory) == ["a1", "a2"]
    assert change.added == ("a1", "a2")
    assert change.invalid_rows == 1


async def test_directory__pages_by_id(organizations_file: FileOfOrganizations) -> None:
    """Pages follow id order; the last id of a page is the cursor of the next."""
    organizations_file.write(*({"id": f"org-{n:02d}"} for n in reversed(range(7))))
    directory = organizations_file.directory()
    await directory.reload()

    first = directory.page(None, 3)
    second = directory.page(first[-1].id, 3)
    third = directory.page(second[-1].id, 3)

    assert [o.id for o in first + second + third] == [f"org-{n:02d}" for n in range(7)]
    assert len(third) == 1
    assert directory.page("org-06", 3) == []
    assert [o.id for o in directory.page("org-02x", 2)] == ["org-03", "org-04"]


async def test_directory__iteration_undisturbed_by_reload(
    organizations_file: FileOfOrganizations,
) -> None:
    """Someone listing organizations while a reload lands sees one whole list."""
    organizations_file.write({"id": "a"}, {"id": "b"})
    directory = organizations_file.directory()
    await directory.reload()
    listing = iter(directory)
    first = next(listing)
    organizations_file.write({"id": "c"})

    await directory.reload()

    assert [first.id, *(o.id for o in listing)] == ["a", "b"]
    assert ids(directory) == ["c"]


class GatedSource:
    """Answers each load with the next scripted rows once its gate opens."""

    kind = "query"

    def __init__(self, *answers: tuple[list[dict[str, str]], asyncio.Event]) -> None:
        self.answers = list(answers)
        self.loads = 0

    async def load(self) -> Sequence[object]:
        """The next rows, when the test lets them through."""
        rows, gate = self.answers[self.loads]
        self.loads += 1
        await gate.wait()
        return rows


async def test_directory__overlapping_reloads_land_in_order() -> None:
    """A reload asked for during another (a SIGHUP) waits, so an older list never wins."""
    older, newer = asyncio.Event(), asyncio.Event()
    source = GatedSource(([{"id": "old"}], older), ([{"id": "new"}], newer))
    directory = OrganizationDirectory(source, FakeMonotonic())
    first = asyncio.create_task(directory.reload())
    await wait_until(lambda: source.loads == 1)
    second = asyncio.create_task(directory.reload())

    newer.set()
    older.set()
    await asyncio.gather(first, second)

    assert ids(directory) == ["new"]
