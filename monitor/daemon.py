"""`integration-monitor run`: the scheduler and the HTTP server in one event loop, stopped
cleanly by SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket

import structlog
import uvicorn
from prometheus_client import CollectorRegistry

from monitor import __version__
from monitor.config import Settings
from monitor.fleet.lifecycle import FleetLifecycle
from monitor.fleet.reading import FleetReader
from monitor.fleet.shards import ShardAssignment, export_shard
from monitor.fleet.sources import SourceError
from monitor.fleet.wiring import Providers, build_fleet, build_providers
from monitor.http_server import HeadDeadlineProtocol, Server
from monitor.metrics import MonitorMetrics
from monitor.page import PageConfig
from monitor.redaction import Redactor
from monitor.runner import Runner
from monitor.service import Monitor
from monitor.sink.protocol import StatusSink
from monitor.store import SnapshotStore
from monitor.targets import build_targets
from monitor.web import create_app

log = structlog.get_logger("monitor")
SHUTDOWN_GRACE_SECONDS = 2


def build_runner(settings: Settings, providers: Providers | None = None) -> Runner:
    """The runner over every configured target, with secrets scrubbed from its results.

    With `providers` (fleet mode) the platform's checks share the organizations' pools and take
    request budget first.
    """
    return Runner(
        build_targets(settings, providers.clients if providers else None),
        settings.monitor_check_timeout_seconds,
        Redactor(settings.secret_values()),
        retry_transient=settings.monitor_retry_transient,
        admit=providers.admission(settings.monitor_check_timeout_seconds) if providers else None,
    )


def build_monitor(
    settings: Settings, registry: CollectorRegistry, providers: Providers | None = None
) -> Monitor:
    """Wire runner, store and metrics from the settings."""
    runner = build_runner(settings, providers)
    store = SnapshotStore(settings.monitor_failure_threshold, settings.monitor_success_threshold)
    names = [target.name for target in runner.targets]
    metrics = MonitorMetrics(
        registry,
        names,
        settings.monitor_check_timeout_seconds,
        settings.monitor_interval_seconds,
    )
    return Monitor(runner, store, metrics, settings.monitor_interval_seconds)


def page_config(settings: Settings, *, fleet_mode: bool) -> PageConfig:
    """What the status page is told: how often to re-read, and the intervals for staleness."""
    return PageConfig(
        refresh_seconds=settings.monitor_ui_refresh_seconds,
        interval_seconds=settings.monitor_interval_seconds,
        organization_interval_seconds=(
            settings.monitor_organization_interval_seconds if fleet_mode else None
        ),
    )


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket up front, so a taken port fails before anything starts."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def run_daemon(settings: Settings) -> int:
    """Serve until SIGTERM/SIGINT; 0 on a clean stop, 1 when the port cannot be bound."""
    try:
        sock = bind_socket(settings.monitor_host, settings.monitor_port)
    except OSError as exc:
        log.error(
            "monitor.bind_failed",
            host=settings.monitor_host,
            port=settings.monitor_port,
            error=exc.strerror or str(exc),
        )
        return 1
    with sock:
        return asyncio.run(_serve(settings, sock))


def _status_sink(
    settings: Settings, registry: CollectorRegistry, shards: ShardAssignment
) -> StatusSink | None:
    if settings.monitor_status_sink != "postgres":
        return None
    # Imported here: a daemon without a sink does not carry the writer and its SQL in memory.
    from monitor.sink.build import build_status_sink  # noqa: PLC0415

    return build_status_sink(settings, registry, str(shards.shard))


async def _serve(settings: Settings, sock: socket.socket) -> int:
    registry = CollectorRegistry()
    shards = ShardAssignment(settings.shard)
    export_shard(registry, shards)
    providers = build_providers(settings, registry) if settings.organization_source else None
    monitor = build_monitor(settings, registry, providers)
    fleet = lifecycle = None
    if providers is not None:
        sink = _status_sink(settings, registry, shards)
        fleet = build_fleet(
            settings, registry, providers, lambda: monitor.snapshot, monitor.history, sink
        )
        lifecycle = FleetLifecycle(fleet, settings.monitor_organizations_reload_seconds)
        await _first_load(lifecycle)
    token = settings.monitor_api_token.get_secret_value() if settings.monitor_api_token else None
    config = uvicorn.Config(
        create_app(
            monitor,
            registry,
            token,
            FleetReader(fleet, shards) if fleet else None,
            page=page_config(settings, fleet_mode=fleet is not None),
        ),
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        http=HeadDeadlineProtocol,
    )
    server = Server(config)
    stop_requested = _stop_event()
    host, port = sock.getsockname()[:2]
    log.info(
        "monitor.started",
        version=__version__,
        listen=f"{host}:{port}",
        shard=str(shards.shard),
        config=settings.public_view(),
    )
    monitor.start()
    if lifecycle is not None:
        lifecycle.start()
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, lifecycle.reload_soon)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    stopping = asyncio.create_task(stop_requested.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    await monitor.stop()
    if lifecycle is not None:
        await lifecycle.stop()
    await serving
    if providers is not None:
        await providers.clients.aclose()
    stopping.cancel()
    log.info("monitor.stopped")
    return 0


async def _first_load(lifecycle: FleetLifecycle) -> None:
    """A file source was read once before the port was bound; a database source that fails
    now is tried again in the background while the platform checks run."""
    with contextlib.suppress(SourceError):
        await lifecycle.load()


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop
