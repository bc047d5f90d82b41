"""The sink's tables, as migrations applied in order, each once.

A migration is never edited once released: a change to the tables is a new migration, so a
database at any older version upgrades by applying the ones it lacks.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA = "integration_monitor"
# Two shards migrating at once take turns on this transaction-level advisory lock (a session
# lock would not survive a transaction pooler, where the next statement may reach another
# backend). The number is arbitrary but fixed: "im" "sink" in ASCII.
MIGRATION_LOCK_KEY = 0x696D_7369_6E6B

BOOTSTRAP = (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_version (
        version integer PRIMARY KEY,
        description text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
    )""",
)


@dataclass(frozen=True)
class Migration:
    """One step of the schema, applied in a transaction of its own."""

    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS = (
    Migration(
        1,
        "organization_status and state_changes",
        (
            # No CHECK on status or reason: a status a later release adds must not make every
            # batch of an older database fail.
            f"""CREATE TABLE {SCHEMA}.organization_status (
                organization_id text NOT NULL,
                integration text NOT NULL,
                status text NOT NULL,
                reason text,
                message text NOT NULL,
                details jsonb NOT NULL DEFAULT '{{}}'::jsonb,
                checked_at timestamptz NOT NULL,
                shard text NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (organization_id, integration)
            )""",
            f"""CREATE TABLE {SCHEMA}.state_changes (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                organization_id text NOT NULL,
                integration text NOT NULL,
                previous text NOT NULL,
                current text NOT NULL,
                reason text,
                message text NOT NULL,
                at timestamptz NOT NULL,
                shard text NOT NULL
            )""",
        ),
    ),
    Migration(
        2,
        "indexes for one organization's latest changes, retention and the errors",
        (
            f"""CREATE INDEX state_changes_organization_at
                ON {SCHEMA}.state_changes (organization_id, at DESC)""",
            f"CREATE INDEX state_changes_at ON {SCHEMA}.state_changes (at)",
            f"""CREATE INDEX organization_status_problems
                ON {SCHEMA}.organization_status (integration, status)
                WHERE status <> 'connected'""",
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version
