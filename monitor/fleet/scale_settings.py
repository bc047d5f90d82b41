"""The variables of more than one machine (§8.7): which shard this is, where statuses go.

A mixin of the daemon's Settings, like the fleet's own, so every problem is listed at once.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field, SecretStr

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_ORDINAL = re.compile(r"-(\d+)$")


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


@dataclass(frozen=True)
class Shard:
    """This process's share of the organizations: shard `index` of `count`."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def host_name() -> str:
    """The pod's name in Kubernetes (which sets HOSTNAME), else the machine's host name."""
    return os.environ.get("HOSTNAME") or socket.gethostname()


class ScaleOutSettingsFields(BaseModel):
    """MONITOR_SHARD, MONITOR_SHARD_COUNT and MONITOR_STATUS_SINK*."""

    monitor_shard: str | None = None
    monitor_shard_count: int | None = Field(None, ge=1, le=1000)
    monitor_status_sink: Annotated[Literal["none", "postgres"], BeforeValidator(_lower)] = "none"
    monitor_status_sink_url: SecretStr | None = None
    monitor_status_sink_retention_days: float = Field(30.0, gt=0, le=3650, allow_inf_nan=False)

    @property
    def shard(self) -> Shard | None:
        """This process's shard, when sharding is configured and valid."""
        shard, _ = self._resolve_shard()
        return shard

    def scale_out_problems(self, *, in_fleet_mode: bool, has_database_url: bool) -> list[str]:
        """What sharding and the sink need, in plain words."""
        problems = []
        _, shard_problem = self._resolve_shard()
        if shard_problem:
            problems.append(shard_problem)
        sharded = self.monitor_shard is not None or self.monitor_shard_count is not None
        if sharded and not in_fleet_mode:
            problems.append("sharding splits organizations: set an organization source too")
        if self.monitor_status_sink == "postgres":
            if not in_fleet_mode:
                problems.append(
                    "MONITOR_STATUS_SINK=postgres writes organizations' statuses:"
                    " set an organization source too"
                )
            if self.monitor_status_sink_url is None and not has_database_url:
                problems.append(
                    "MONITOR_STATUS_SINK=postgres needs MONITOR_STATUS_SINK_URL or DATABASE_URL"
                )
        return problems

    def _resolve_shard(self) -> tuple[Shard | None, str | None]:
        if self.monitor_shard is not None and self.monitor_shard_count is not None:
            return None, "set MONITOR_SHARD or MONITOR_SHARD_COUNT, not both"
        if self.monitor_shard is not None:
            return _parse_shard(self.monitor_shard)
        if self.monitor_shard_count is not None:
            return _shard_from_host_name(host_name(), self.monitor_shard_count)
        return None, None


def _parse_shard(value: str) -> tuple[Shard | None, str | None]:
    match = _SHARD.match(value)
    if match is None:
        return None, "MONITOR_SHARD: should be index/count, such as 0/3 (the index counts from 0)"
    index, count = int(match[1]), int(match[2])
    if count < 1:
        return None, "MONITOR_SHARD: the count must be at least 1"
    if index >= count:
        return None, f"MONITOR_SHARD: the index must be below the count (0 to {count - 1})"
    return Shard(index, count), None


def _shard_from_host_name(name: str, count: int) -> tuple[Shard | None, str | None]:
    match = _ORDINAL.search(name)
    if match is None:
        return None, (
            f"MONITOR_SHARD_COUNT: the host name {name!r} does not end in -<ordinal>"
            " (as a StatefulSet's pods do); set MONITOR_SHARD=index/count instead"
        )
    index = int(match[1])
    if index >= count:
        return None, (
            f"MONITOR_SHARD_COUNT: the host name {name!r} has ordinal {index},"
            f" which is not below the shard count {count}"
        )
    return Shard(index, count), None
