"""The sink's metrics, registered only when the sink is on. Alert rules and dashboards use
these names."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge

TABLES = ("organization_status", "state_changes")


class SinkMetrics:
    """Errors, health, backlog and throughput of the status sink.

    Args:
        registry: where to register.
        pending_rows: read at scrape time: rows not yet in the database.
    """

    def __init__(self, registry: CollectorRegistry, pending_rows: Callable[[], float]) -> None:
        self.errors = Counter(
            "integration_monitor_sink_errors",
            "Failed attempts to write to the status sink (each is retried)",
            registry=registry,
        )
        self.up = Gauge(
            "integration_monitor_sink_up",
            "1 when the last write to the status sink succeeded",
            registry=registry,
        )
        self.pending = Gauge(
            "integration_monitor_sink_pending_rows",
            "Rows waiting to be written (the latest status per key, and state changes)",
            registry=registry,
        )
        self.pending.set_function(pending_rows)
        self.rows_written = Counter(
            "integration_monitor_sink_rows_written",
            "Rows written to the status sink, by table",
            ["table"],
            registry=registry,
        )
        for table in TABLES:
            self.rows_written.labels(table)
        self.last_success = Gauge(
            "integration_monitor_sink_last_success_timestamp_seconds",
            "Unix time of the last successful write to the status sink",
            registry=registry,
        )
        self.dropped_changes = Counter(
            "integration_monitor_sink_dropped_changes",
            "State changes dropped because too many waited while the sink could not write",
            registry=registry,
        )
