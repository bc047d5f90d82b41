"""The SQL of one batch: statuses upserted, changes appended, removed organizations deleted,
old changes deleted.

Each kind of row goes in one statement whatever the batch size: the rows travel as arrays and
`unnest` turns them back into rows, so a batch of thousands is one round trip and one parse
(nothing is prepared on the server; see `connection.connect`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection

from monitor.sink.buffer import Batch, ChangeRow, Removal, StatusRow

UPSERT_STATUSES = """
INSERT INTO integration_monitor.organization_status AS current_row
    (organization_id, integration, status, reason, message, details, checked_at, shard,
     updated_at)
SELECT organization_id, integration, status, reason, message, details::jsonb, checked_at,
       %(shard)s, updated_at
FROM unnest(%(organization_id)b::text[], %(integration)b::text[], %(status)b::text[],
            %(reason)b::text[], %(message)b::text[], %(details)b::text[],
            %(checked_at)b::timestamptz[], %(updated_at)b::timestamptz[])
    AS batch(organization_id, integration, status, reason, message, details, checked_at,
             updated_at)
ON CONFLICT (organization_id, integration) DO UPDATE SET
    status = EXCLUDED.status, reason = EXCLUDED.reason, message = EXCLUDED.message,
    details = EXCLUDED.details, checked_at = EXCLUDED.checked_at, shard = EXCLUDED.shard,
    updated_at = EXCLUDED.updated_at
-- A shard catching up after an outage must not overwrite what another wrote since.
WHERE current_row.updated_at <= EXCLUDED.updated_at
"""

APPEND_CHANGES = """
INSERT INTO integration_monitor.state_changes
    (organization_id, integration, previous, current, reason, message, at, shard)
SELECT organization_id, integration, previous, current, reason, message, at, %(shard)s
FROM unnest(%(organization_id)b::text[], %(integration)b::text[], %(previous)b::text[],
            %(current)b::text[], %(reason)b::text[], %(message)b::text[],
            %(at)b::timestamptz[])
    AS batch(organization_id, integration, previous, current, reason, message, at)
"""

# An anti-join against the source's ids: hashed, where `<> ALL(array)` would compare each row
# with every id.
DELETE_REMOVED = """
DELETE FROM integration_monitor.organization_status AS status_row
WHERE status_row.updated_at < %(loaded_at)s
  AND (NOT EXISTS (SELECT 1 FROM unnest(%(known_ids)b::text[]) AS known(id)
                   WHERE known.id = status_row.organization_id)
       OR (%(integrations)b::text[] IS NOT NULL
           AND NOT status_row.integration = ANY(%(integrations)b::text[])))
"""

# SKIP LOCKED: shards deleting at the same moment take different rows instead of waiting.
DELETE_OLD_CHANGES = """
DELETE FROM integration_monitor.state_changes
WHERE id IN (SELECT id FROM integration_monitor.state_changes
             WHERE at < now() - make_interval(secs => %(keep_seconds)s)
             ORDER BY at LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
"""


def _text(value: str) -> str:
    # PostgreSQL text holds neither NUL nor half a surrogate pair, and a provider's JSON can hold
    # both: one such row would fail every batch it is in, for ever.
    value = value.replace("\x00", "")
    return value if value.isascii() else value.encode("utf-8", "replace").decode("utf-8")


def _clean(value: Any) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {_text(str(key)): _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return _text(str(value))


def _json(details: Mapping[str, Any]) -> str:
    return json.dumps(details, default=str, separators=(",", ":"), allow_nan=False)


def details_json(details: Mapping[str, Any]) -> str:
    """The details as jsonb text; what jsonb cannot hold (NUL, half a surrogate pair, NaN, a key
    that is not text) is cleaned first, only when it is seen (it is rare)."""
    try:
        text = _json(details)
    except (TypeError, ValueError):  # a key that is not text, NaN or infinity
        return _json(_clean(details))
    if "\\u0000" in text or "\\ud" in text:  # NUL, or a surrogate (perhaps half a pair)
        return _json(_clean(details))
    return text


def _timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


async def upsert_statuses(
    conn: AsyncConnection[Any], rows: Sequence[StatusRow], shard: str
) -> None:
    """One statement for every status of the batch (keys are unique within a batch)."""
    await conn.execute(
        UPSERT_STATUSES,
        {
            "shard": shard,
            "organization_id": [row.organization_id for row in rows],
            "integration": [row.integration for row in rows],
            "status": [row.status for row in rows],
            "reason": [row.reason for row in rows],
            "message": [_text(row.message) for row in rows],
            "details": [details_json(row.details) for row in rows],
            "checked_at": [row.checked_at for row in rows],
            "updated_at": [_timestamp(row.recorded_at) for row in rows],
        },
    )


async def append_changes(conn: AsyncConnection[Any], rows: Sequence[ChangeRow], shard: str) -> None:
    """One statement for every change of the batch, in order."""
    await conn.execute(
        APPEND_CHANGES,
        {
            "shard": shard,
            "organization_id": [row.organization_id for row in rows],
            "integration": [row.integration for row in rows],
            "previous": [row.previous for row in rows],
            "current": [row.current for row in rows],
            "reason": [row.reason for row in rows],
            "message": [_text(row.message) for row in rows],
            "at": [row.at for row in rows],
        },
    )


async def delete_removed(conn: AsyncConnection[Any], removal: Removal) -> int:
    """Delete the rows of organizations the source no longer holds; how many went."""
    cursor = await conn.execute(
        DELETE_REMOVED,
        {
            "known_ids": sorted(removal.known_ids),
            "loaded_at": _timestamp(removal.loaded_at),
            "integrations": sorted(removal.integrations)
            if removal.integrations is not None
            else None,
        },
    )
    return max(cursor.rowcount, 0)


async def write_batch(
    conn: AsyncConnection[Any], batch: Batch, shard: str, timeout_seconds: float
) -> int:
    """The whole batch in one transaction; how many rows of removed organizations went."""
    await _limit_statements(conn, timeout_seconds)
    if batch.statuses:
        await upsert_statuses(conn, batch.statuses, shard)
    if batch.changes:
        await append_changes(conn, batch.changes, shard)
    removed = await delete_removed(conn, batch.removal) if batch.removal is not None else 0
    await conn.commit()
    return removed


async def delete_old_changes(
    conn: AsyncConnection[Any], keep_days: float, limit: int, timeout_seconds: float
) -> int:
    """Delete (and commit) up to `limit` changes older than `keep_days`; how many went."""
    await _limit_statements(conn, timeout_seconds)
    cursor = await conn.execute(
        DELETE_OLD_CHANGES, {"keep_seconds": keep_days * 86400.0, "limit": limit}
    )
    await conn.commit()
    return max(cursor.rowcount, 0)


async def _limit_statements(conn: AsyncConnection[Any], timeout_seconds: float) -> None:
    # SET LOCAL ends with the transaction: nothing stays on a pooled backend.
    await conn.execute(
        "SELECT set_config('statement_timeout', %s, true)",
        (f"{math.ceil(timeout_seconds * 1000)}ms",),
    )
