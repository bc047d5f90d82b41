"""What waits for the database: bounded by the keys, newest per key, changes in order."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.sink.buffer import ChangeRow, Removal, SinkBuffer, StatusRow

AT = datetime(2025, 1, 1, tzinfo=UTC)


def status(organization: str, message: str = "ok", integration: str = "whatsapp") -> StatusRow:
    return StatusRow(organization, integration, "connected", None, message, {}, AT, 0.0)


def change(n: int) -> ChangeRow:
    return ChangeRow(f"org-{n}", "whatsapp", "connected", "error", "auth", f"change {n}", AT)


def test_buffer__latest_status_per_key_wins() -> None:
    """A thousand results for two keys wait as two rows: the latest of each."""
    buffer = SinkBuffer()
    for n in range(1000):
        buffer.put_status(status("org-1", f"result {n}"))
        buffer.put_status(status("org-2", f"result {n}"))

    batch = buffer.take(100)

    assert buffer.pending_rows() == 2
    assert [(row.organization_id, row.message) for row in batch.statuses] == [
        ("org-1", "result 999"),
        ("org-2", "result 999"),
    ]


def test_buffer__changes_bounded_oldest_dropped_and_counted() -> None:
    """More changes than the bound: the oldest go, and each one dropped is counted."""
    dropped: list[int] = []
    buffer = SinkBuffer(max_changes=3, on_dropped=dropped.append)
    for n in range(5):
        buffer.add_change(change(n))

    batch = buffer.take(10)

    assert [row.message for row in batch.changes] == ["change 2", "change 3", "change 4"]
    assert sum(dropped) == 2


def test_buffer__failed_batch_back_without_beating_newer_rows() -> None:
    """A batch that was not written waits again, but a status recorded meanwhile wins."""
    buffer = SinkBuffer()
    buffer.put_status(status("org-1", "old"))
    buffer.put_status(status("org-2", "old"))
    buffer.add_change(change(1))
    batch = buffer.take(10)
    buffer.put_status(status("org-1", "new"))
    buffer.add_change(change(2))

    buffer.give_back(batch)
    again = buffer.take(10)

    assert {row.organization_id: row.message for row in again.statuses} == {
        "org-1": "new",
        "org-2": "old",
    }
    assert [row.message for row in again.changes] == ["change 1", "change 2"]


def test_buffer__changes_given_back_to_a_full_buffer_drop_the_oldest() -> None:
    """Changes given back to a full list keep the newest ones and count the rest dropped."""
    dropped: list[int] = []
    buffer = SinkBuffer(max_changes=3, on_dropped=dropped.append)
    buffer.add_change(change(1))
    buffer.add_change(change(2))
    batch = buffer.take(10)
    buffer.add_change(change(3))
    buffer.add_change(change(4))

    buffer.give_back(batch)

    assert [row.message for row in buffer.take(10).changes] == ["change 2", "change 3", "change 4"]
    assert sum(dropped) == 1


def test_buffer__removed_organizations_forgotten_and_deleted_once() -> None:
    """After a load, waiting rows of organizations gone from the source are not written; the
    removal itself goes with the next batch, and is done once written."""
    buffer = SinkBuffer()
    buffer.put_status(status("org-1"))
    buffer.put_status(status("gone"))
    removal = Removal(frozenset({"org-1"}), 100.0)

    buffer.keep_only(removal)
    batch = buffer.take(10)

    assert [row.organization_id for row in batch.statuses] == ["org-1"]
    assert batch.removal is removal
    buffer.written(batch)
    assert not buffer.has_work()


def test_buffer__a_failed_batch_of_a_removed_organization_is_not_given_back() -> None:
    """An organization removed while its batch was being written does not come back."""
    buffer = SinkBuffer()
    buffer.put_status(status("gone"))
    batch = buffer.take(10)
    buffer.keep_only(Removal(frozenset({"org-1"}), 100.0))

    buffer.give_back(batch)

    assert buffer.take(10).statuses == []


def test_buffer__pending_counts_the_batch_being_written() -> None:
    """Rows taken for a write still count as pending until they are in the database."""
    buffer = SinkBuffer()
    buffer.put_status(status("org-1"))
    buffer.add_change(change(1))

    batch = buffer.take(10)
    assert buffer.pending_rows() == 2
    buffer.written(batch)
    assert buffer.pending_rows() == 0
