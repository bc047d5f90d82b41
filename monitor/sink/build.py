"""The sink, put together from the settings."""

from __future__ import annotations

import os

import structlog
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from monitor.config import Settings
from monitor.database_tls import effective_sslmode, hosts_without_tls
from monitor.redaction import Redactor
from monitor.sink.writer import StatusSinkWriter, WriterOptions

log = structlog.get_logger("monitor.sink")


def sink_dsn(settings: Settings) -> SecretStr | None:
    """MONITOR_STATUS_SINK_URL, else DATABASE_URL."""
    dsn = settings.status_sink_dsn
    return SecretStr(dsn) if dsn is not None else None


def build_status_sink(
    settings: Settings, registry: CollectorRegistry, shard: str
) -> StatusSinkWriter:
    """The writer for MONITOR_STATUS_SINK=postgres (the configuration guarantees a DSN)."""
    dsn = sink_dsn(settings)
    if dsn is None:
        raise ValueError("the status sink needs MONITOR_STATUS_SINK_URL or DATABASE_URL")
    warn_if_unencrypted(dsn)
    return StatusSinkWriter(
        dsn,
        shard=shard,
        registry=registry,
        redactor=Redactor(settings.secret_values()),
        options=WriterOptions(retention_days=settings.monitor_status_sink_retention_days),
    )


def warn_if_unencrypted(dsn: SecretStr) -> None:
    """One warning when the sink's traffic may cross a network in plain text (hosts only)."""
    hosts = hosts_without_tls(dsn.get_secret_value(), os.environ)
    if hosts:
        sslmode = effective_sslmode(dsn.get_secret_value(), os.environ)
        log.warning(
            "sink.tls_not_required",
            hosts=hosts,
            sslmode=sslmode,
            message=f"the status sink reaches {', '.join(hosts)} with sslmode={sslmode}: the"
            " connection may be unencrypted; set sslmode=verify-full",
        )
