"""Where organizations come from (contract §8.1): a file, an SQL query, or a Supabase table.

Each source only fetches raw rows; `monitor.fleet.directory.OrganizationDirectory` validates
them and keeps the last good list. A source that fails raises `SourceError` with one plain
sentence: no traceback, no file content, no DSN or key.
"""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import psycopg
import yaml  # type: ignore[import-untyped]  # no stubs in the dependencies; two calls used
from psycopg.rows import dict_row
from pydantic import SecretStr

from monitor.redaction import Redactor

if TYPE_CHECKING:
    from monitor.config import Settings

DEFAULT_TIMEOUT_SECONDS = 30.0
# A page of 1000 wide rows (tokens, names, other columns) outgrows a check's 1 MiB cap.
MAX_PAGE_BYTES = 16 * 1024 * 1024


class SourceError(Exception):
    """The source could not be read; the message is one plain sentence without secrets."""


class OrganizationSource(Protocol):
    """Anything that can fetch the raw organization rows."""

    kind: str  # "file", "query" or "table", for the summary and the logs

    async def load(self) -> Sequence[object]:
        """The raw rows, in the source's order; each is validated by `parse_rows`."""
        ...


class FileSource:
    """A YAML or JSON file: a list of rows, or `{"organizations": [...]}`."""

    kind = "file"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    async def load(self) -> Sequence[object]:
        """Read and parse the file (off the event loop: it may sit on a slow disk)."""
        return await asyncio.to_thread(self._read)

    def _read(self) -> Sequence[object]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise SourceError(f"organizations file {self.path} is not UTF-8 text") from None
        except OSError as exc:
            why = exc.strerror or type(exc).__name__
            raise SourceError(f"cannot read organizations file {self.path}: {why}") from None
        return _rows_in(self._parse(text), self.path)

    def _parse(self, text: str) -> object:
        # JSON first for .json files: YAML 1.1 reads a few JSON escapes differently.
        try:
            if self.path.suffix.lower() == ".json":
                return json.loads(text)
            return yaml.safe_load(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise SourceError(
                f"organizations file {self.path} is not valid JSON ({where})"
            ) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            raise SourceError(f"organizations file {self.path} is not valid YAML{where}") from None


def _rows_in(document: object, path: Path) -> Sequence[object]:
    if isinstance(document, Mapping) and isinstance(document.get("organizations"), list):
        return list(document["organizations"])
    if isinstance(document, list):
        return document
    # An empty file is refused too: read as "no organizations", it would drop every one.
    raise SourceError(
        f"organizations file {path} must hold a list of organizations,"
        " or a mapping with an 'organizations' list"
    )


class QuerySource:
    """An SQL query on PostgreSQL returning the §8.1 columns by name.

    It runs in a read-only transaction with a server-side statement timeout, over a connection
    of its own that prepares nothing on the server, so it also works through a transaction
    pooler (Supabase's Supavisor, PgBouncer) where the next statement may reach another backend.
    """

    kind = "query"

    def __init__(
        self, dsn: SecretStr, query: str, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        self._dsn = dsn
        self.query = query
        self.timeout_seconds = timeout_seconds

    def __repr__(self) -> str:
        return f"QuerySource(query={self.query!r})"

    async def load(self) -> Sequence[object]:
        """Connect, run the query, return its rows as mappings."""
        try:
            async with asyncio.timeout(self.timeout_seconds):
                return await self._fetch()
        except TimeoutError:
            raise SourceError(
                f"the organizations query took longer than {self.timeout_seconds:g} s"
            ) from None
        except psycopg.Error as exc:
            raise SourceError(self._plain(exc)) from None

    async def _fetch(self) -> list[dict[str, Any]]:
        async with (
            await psycopg.AsyncConnection.connect(
                self._dsn.get_secret_value(),
                connect_timeout=max(2, math.ceil(self.timeout_seconds)),
                prepare_threshold=None,
                row_factory=dict_row,
                application_name="integration-monitor",
            ) as conn,
            conn.transaction(),
        ):
            await conn.execute("SET TRANSACTION READ ONLY")
            # SET LOCAL ends with the transaction: nothing stays on a pooled backend.
            await conn.execute(
                "SELECT set_config('statement_timeout', %s, true)",
                (f"{math.ceil(self.timeout_seconds * 1000)}ms",),
            )
            rows = await (await conn.execute(self.query)).fetchall()
        return [{key: _plain_value(value) for key, value in row.items()} for row in rows]

    def _plain(self, exc: psycopg.Error) -> str:
        if isinstance(exc, psycopg.errors.QueryCanceled):
            return f"the organizations query took longer than {self.timeout_seconds:g} s"
        dsn = self._dsn.get_secret_value()
        try:
            password = psycopg.conninfo.conninfo_to_dict(dsn).get("password")
        except psycopg.Error:
            # libpq quotes the piece it could not read, which may be part of a password.
            return "the organizations query failed: its connection string (DSN) is malformed"
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        # libpq's first line says what failed; the rest point into the query text.
        said = " ".join(lines[:1]).replace("FATAL:", "").removeprefix("connection failed: ")
        said = " ".join(said.split()) or type(exc).__name__
        secrets = [dsn, str(password)] if password else [dsn]
        return f"the organizations query failed: {Redactor(secrets).scrub(said)}"


def _plain_value(value: object) -> object:
    # A uuid column holds text to PostgREST and to the platform; psycopg hands over UUID objects.
    return str(value) if isinstance(value, uuid.UUID) else value


def make_source(settings: Settings) -> OrganizationSource:
    """The source the settings name (fleet mode only: one of them is set)."""
    if settings.monitor_organizations_file:
        return FileSource(settings.monitor_organizations_file)
    if settings.monitor_organizations_query and settings.database_url is not None:
        return QuerySource(settings.database_url, settings.monitor_organizations_query)
    key = settings.supabase_service_role_key
    if settings.monitor_organizations_table and settings.supabase_url and key is not None:
        from monitor.fleet.table_source import SupabaseTableSource  # noqa: PLC0415 - see its module

        return SupabaseTableSource(settings.supabase_url, key, settings.monitor_organizations_table)
    raise ValueError("no organization source is configured")
