"""The fleet's variables (§8): where organizations come from, how often, within which budgets.

A mixin of the daemon's Settings, so that every problem, fleet or not, is listed at once.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field, model_validator


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def is_loopback_host(host: str) -> bool:
    """Whether a listen address only answers this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class FleetSettingsFields(BaseModel):
    """MONITOR_ORGANIZATIONS_* and the fleet's schedule, budgets and metrics."""

    monitor_organizations_file: str | None = None
    monitor_organizations_query: str | None = None
    monitor_organizations_table: str | None = Field(
        None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$"
    )
    monitor_organizations_reload_seconds: float = Field(300.0, ge=1, allow_inf_nan=False)
    monitor_organization_interval_seconds: float = Field(300.0, ge=1, le=86400, allow_inf_nan=False)
    monitor_whatsapp_max_rps: float = Field(10.0, gt=0, allow_inf_nan=False)
    monitor_stripe_max_rps: float = Field(5.0, gt=0, allow_inf_nan=False)
    monitor_stripe_fleet_mode: Annotated[Literal["retrieve", "list"], BeforeValidator(_lower)] = (
        "retrieve"
    )
    monitor_organization_metrics: Annotated[Literal["off", "failing"], BeforeValidator(_lower)] = (
        "off"
    )
    monitor_organization_metrics_limit: int = Field(500, ge=1)

    @property
    def organization_source(self) -> Literal["file", "query", "table"] | None:
        """Which source is configured, if any (fleet mode is on when one is)."""
        if self.monitor_organizations_file:
            return "file"
        if self.monitor_organizations_query:
            return "query"
        if self.monitor_organizations_table:
            return "table"
        return None

    @model_validator(mode="after")
    def _one_source(self) -> FleetSettingsFields:
        chosen = [
            name
            for name in ("FILE", "QUERY", "TABLE")
            if getattr(self, f"monitor_organizations_{name.lower()}")
        ]
        if len(chosen) > 1:
            raise ValueError(
                "set at most one of MONITOR_ORGANIZATIONS_FILE, MONITOR_ORGANIZATIONS_QUERY"
                " and MONITOR_ORGANIZATIONS_TABLE"
            )
        return self

    def fleet_problems(
        self,
        *,
        timeout_seconds: float,
        has_database_url: bool,
        has_supabase: bool,
        has_api_token: bool,
        host: str,
    ) -> list[str]:
        """What fleet mode needs from the rest of the configuration, in plain words."""
        source = self.organization_source
        if source is None:
            return []
        problems = []
        if self.monitor_organization_interval_seconds <= timeout_seconds:
            problems.append(
                "MONITOR_ORGANIZATION_INTERVAL_SECONDS must be greater than"
                " MONITOR_CHECK_TIMEOUT_SECONDS"
            )
        if source == "query" and not has_database_url:
            problems.append("MONITOR_ORGANIZATIONS_QUERY needs DATABASE_URL")
        if source == "table" and not has_supabase:
            problems.append(
                "MONITOR_ORGANIZATIONS_TABLE needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY"
            )
        if not has_api_token and not is_loopback_host(host):
            problems.append(
                "fleet mode serves organization names and ids: set MONITOR_API_TOKEN, or"
                " listen on a loopback MONITOR_HOST"
            )
        return problems
