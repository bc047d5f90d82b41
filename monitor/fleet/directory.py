"""The current list of organizations: loaded from a source, validated, replaced whole.

A failed load keeps the last good list. Lookups by id are dictionary lookups; iteration and
pages are in id order, so an API can page with an id as its cursor.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import structlog

from monitor.fleet.organizations import (
    Organization,
    ParsedOrganizations,
    RowProblem,
    parse_rows,
)
from monitor.fleet.sources import OrganizationSource, SourceError

log = structlog.get_logger("monitor.fleet")
MAX_LOGGED_ROWS = 100  # skipped rows logged one by one per load; the rest are counted


@dataclass(frozen=True)
class DirectoryChange:
    """What one successful load changed, by organization id (each sorted)."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]  # same id, other fields (a new token, a new WABA id)
    invalid_rows: int
    problems: tuple[RowProblem, ...]
    # Every valid id the source returned, before the shard filter: what exists at all, so the
    # status sink can delete the rows of organizations gone from the source, whoever wrote them.
    source_ids: frozenset[str]


def _everyone(_organization_id: str) -> bool:
    return True


class OrganizationDirectory:
    """The current good list of organizations, replaced whole by each successful load.

    Args:
        source: where the rows come from.
        clock: wall-clock time in seconds, for `last_success`.
        owns: which organizations this process checks (the shard filter); all by default.
    """

    def __init__(
        self,
        source: OrganizationSource,
        clock: Callable[[], float] = time.time,
        owns: Callable[[str], bool] = _everyone,
    ) -> None:
        self.source = source
        self._clock = clock
        self._owns = owns
        self._by_id: dict[str, Organization] = {}
        self._ids: list[str] = []  # sorted, for ordered iteration and cursors
        self._source_ids: frozenset[str] = frozenset()  # every shard's, for "ask shard k"
        self._lock = asyncio.Lock()
        self.up = False
        self.last_success: float | None = None
        self.invalid_rows = 0

    async def reload(self) -> DirectoryChange:
        """Load and validate; on success replace the list and say what changed.

        Raises:
            SourceError: the source failed; the last good list stays, `up` turns false.
        """
        async with self._lock:  # a SIGHUP during a scheduled reload waits for it
            try:
                rows = await self.source.load()
            except SourceError as exc:
                self.up = False
                log.warning("organizations.load_failed", source=self.source.kind, error=str(exc))
                raise
            parsed = parse_rows(rows)
            _log_skipped(parsed.problems)
            change = self._replace(parsed)
            log.info(
                "organizations.loaded",
                source=self.source.kind,
                organizations=len(self._ids),
                added=len(change.added),
                removed=len(change.removed),
                invalid_rows=change.invalid_rows,
            )
            return change

    def _replace(self, parsed: ParsedOrganizations) -> DirectoryChange:
        old = self._by_id
        new = {o.id: o for o in parsed.organizations if self._owns(o.id)}
        kept = new.keys() & old.keys()
        change = DirectoryChange(
            added=tuple(sorted(new.keys() - old.keys())),
            removed=tuple(sorted(old.keys() - new.keys())),
            changed=tuple(sorted(key for key in kept if new[key] != old[key])),
            invalid_rows=len(parsed.problems),
            problems=parsed.problems,
            source_ids=frozenset(o.id for o in parsed.organizations),
        )
        # Whole new objects: a reader iterating the old list is not disturbed.
        self._by_id, self._ids = new, sorted(new)
        self._source_ids = change.source_ids
        self.up, self.last_success = True, self._clock()
        self.invalid_rows = len(parsed.problems)
        return change

    def get(self, organization_id: str) -> Organization | None:
        """The organization with this id, if it is in the list."""
        return self._by_id.get(organization_id)

    def in_source(self, organization_id: str) -> bool:
        """Whether the source lists the organization, whichever shard checks it."""
        return organization_id in self._source_ids

    def __contains__(self, organization_id: object) -> bool:
        return organization_id in self._by_id

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[Organization]:
        # The list as it is now: a reload while the caller iterates does not disturb it.
        ids, by_id = self._ids, self._by_id
        return (by_id[key] for key in ids)

    def ids(self) -> Sequence[str]:
        """Every id, sorted (the list as it is now: a reload replaces it, never changes it)."""
        return self._ids

    def page(self, after: str | None, limit: int) -> list[Organization]:
        """Up to `limit` organizations with ids after `after` (all when None), ordered by id."""
        ids, by_id = self._ids, self._by_id
        start = 0 if after is None else bisect.bisect_right(ids, after)
        return [by_id[key] for key in ids[start : start + limit]]


def _log_skipped(problems: Sequence[RowProblem]) -> None:
    for problem in problems[:MAX_LOGGED_ROWS]:
        log.warning(
            "organizations.row_skipped",
            row=problem.row_number,
            organization=problem.organization_id,
            problem=problem.problem,
        )
    if len(problems) > MAX_LOGGED_ROWS:
        # A renamed column can make every row bad: a line per row at every reload floods logs.
        log.warning(
            "organizations.rows_skipped",
            skipped=len(problems),
            not_logged=len(problems) - MAX_LOGGED_ROWS,
        )
