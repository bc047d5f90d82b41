"""The command line: `run`, `check [--json]`, `migrate`, `--version`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import prometheus_client
import structlog

from monitor import __version__
from monitor.config import ConfigError, Settings, load_settings
from monitor.daemon import build_runner, run_daemon
from monitor.database_tls import effective_sslmode, hosts_without_tls
from monitor.fleet.sources import FileSource, SourceError
from monitor.logs import configure_logging, scrub_standard_streams
from monitor.redaction import Redactor
from monitor.snapshot import Overall, Snapshot
from monitor.store import SnapshotStore
from monitor.targets import postgres_dsn_in_use

log = structlog.get_logger("monitor")

# Nagios plugin convention, which Icinga and most cron wrappers read.
EXIT_BY_OVERALL = {Overall.HEALTHY: 0, Overall.PARTIAL: 1, Overall.DEGRADED: 2}
EXIT_UNKNOWN = 3
EXIT_RUN_BAD_CONFIG = 2


def parser() -> argparse.ArgumentParser:
    """The argument parser."""
    top = argparse.ArgumentParser(
        prog="integration-monitor",
        description="Watch WhatsApp Business, Stripe, Resend and the database; serve their health.",
    )
    top.add_argument("--version", action="version", version=f"integration-monitor {__version__}")
    commands = top.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the daemon: checks every interval, HTTP on MONITOR_PORT")
    check = commands.add_parser("check", help="run one cycle, print it, exit 0/1/2/3 (Nagios)")
    check.add_argument("--json", action="store_true", help="print the status API's JSON")
    check.add_argument(
        "--organization",
        metavar="ID",
        help="check one organization of the organization source (fleet mode) instead",
    )
    migrate = commands.add_parser(
        "migrate",
        help="create or upgrade the status sink's tables (MONITOR_STATUS_SINK_URL or DATABASE_URL)",
    )
    migrate.add_argument(
        "--keep-going",
        action="store_true",
        help="exit 0 when the database cannot be reached (say so on stderr): before a shard"
        " starts, a sink that is down must not keep the checks from running",
    )
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `integration-monitor` script."""
    args = parser().parse_args(argv)
    bad_config_exit = EXIT_RUN_BAD_CONFIG if args.command in ("run", "migrate") else EXIT_UNKNOWN
    try:
        settings = load_settings()
        if args.command != "migrate":  # it needs a database, not the organizations
            require_readable_organization_file(settings)
    except ConfigError as exc:
        print_problems(exc.problems, sys.stderr)
        return bad_config_exit
    redactor = Redactor(settings.secret_values())
    configure_logging(settings.monitor_log_format, settings.monitor_log_level, redactor)
    scrub_standard_streams(redactor)
    warn_if_database_traffic_unencrypted(settings)
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
    if args.command == "run":
        return run_daemon(settings)
    if args.command == "migrate":
        return run_migrate_command(settings, keep_going=args.keep_going)
    if args.organization is not None:
        return run_organization_check(
            settings, args.organization, as_json=args.json, out=sys.stdout
        )
    return run_check(settings, as_json=args.json, out=sys.stdout)


def run_migrate_command(settings: Settings, *, keep_going: bool) -> int:
    """`migrate`: 2 without a database to migrate, else the migration's exit code."""
    from monitor.sink.command import (  # noqa: PLC0415 - only this command needs it
        run_migrate,
        sink_problems,
    )

    problems = sink_problems(settings)
    if problems:
        print_problems(problems, sys.stderr)
        return EXIT_RUN_BAD_CONFIG
    return run_migrate(settings, sys.stdout, sys.stderr, keep_going=keep_going)


def require_readable_organization_file(settings: Settings) -> None:
    """An organization file that cannot be read or parsed is bad configuration.

    Raises:
        ConfigError: naming the variable and what is wrong with the file.
    """
    if not settings.monitor_organizations_file:
        return
    try:
        asyncio.run(FileSource(settings.monitor_organizations_file).load())
    except SourceError as exc:
        raise ConfigError([f"MONITOR_ORGANIZATIONS_FILE: {exc}"]) from None


def run_organization_check(
    settings: Settings, organization: str, *, as_json: bool, out: TextIO
) -> int:
    """One organization checked now, printed; the exit code follows its overall status."""
    if settings.organization_source is None:
        sys.stderr.write(
            "integration-monitor: --organization needs an organization source"
            " (MONITOR_ORGANIZATIONS_FILE, _QUERY or _TABLE)\n"
        )
        return EXIT_UNKNOWN
    from monitor.fleet.oneshot import (  # noqa: PLC0415 - fleet code only for fleet commands
        UnknownOrganization,
        check_organization,
    )

    try:
        view = asyncio.run(check_organization(settings, organization))
    except UnknownOrganization:
        sys.stderr.write(f"integration-monitor: unknown organization {organization!r}\n")
        return EXIT_UNKNOWN
    except SourceError as exc:
        sys.stderr.write(f"integration-monitor: could not load the organizations: {exc}\n")
        return EXIT_UNKNOWN
    document = view.to_json(organization, lambda entry: entry.to_json(personal=True))
    out.write(json.dumps(document, indent=2) + "\n" if as_json else render_document(document))
    return EXIT_BY_OVERALL[Overall(document["overall_status"])]


def warn_if_database_traffic_unencrypted(settings: Settings) -> None:
    """One warning when the PostgreSQL check may cross a network in plain text.

    Names the hosts and the sslmode, never the DSN (it may hold a password).
    """
    dsn = postgres_dsn_in_use(settings)
    if dsn is None:
        return
    hosts = hosts_without_tls(dsn, os.environ)
    if not hosts:
        return
    sslmode = effective_sslmode(dsn, os.environ)
    log.warning(
        "database.tls_not_required",
        hosts=hosts,
        sslmode=sslmode,
        message=f"DATABASE_URL reaches {', '.join(hosts)} with sslmode={sslmode}: the"
        " connection may be unencrypted and the server's certificate is not verified;"
        " set sslmode=verify-full",
    )


def print_problems(problems: Sequence[str], stream: TextIO) -> None:
    """Every configuration problem, one per line."""
    stream.write("integration-monitor: invalid configuration:\n")
    for problem in problems:
        stream.write(f"  - {problem}\n")


def run_check(settings: Settings, *, as_json: bool, out: TextIO) -> int:
    """One cycle, printed; the exit code follows the overall status."""
    try:
        snapshot = asyncio.run(_one_cycle(settings))
    except Exception as exc:  # the command's boundary: say what failed, exit UNKNOWN
        redactor = Redactor(settings.secret_values())
        sys.stderr.write(f"integration-monitor: check failed: {redactor.scrub(repr(exc))}\n")
        return EXIT_UNKNOWN
    if as_json:
        # Whoever runs `check` holds the credentials: personal details are theirs to see.
        out.write(json.dumps(snapshot.to_json(personal=True), indent=2) + "\n")
    else:
        out.write(render_table(snapshot))
    return EXIT_BY_OVERALL[snapshot.overall_status]


async def _one_cycle(settings: Settings) -> Snapshot:
    runner = build_runner(settings)
    store = SnapshotStore()
    results = await runner.run_cycle()
    store.apply(results, max(r.checked_at for r in results.values()), 0.0)
    assert store.current is not None  # noqa: S101 - apply() always sets it
    return store.current


def render_table(snapshot: Snapshot) -> str:
    """A table for people: one line per integration, then the overall status."""
    return render_document(snapshot.to_json(personal=True))


def render_document(document: dict[str, Any]) -> str:
    """The §4 JSON shape as a table: one line per integration, then the overall status."""
    rows = [("INTEGRATION", "STATUS", "TIME", "MESSAGE")]
    for name, entry in document["integrations"].items():
        reason = entry.get("reason")
        status = entry["status"] + (f" ({reason})" if reason else "")
        took = f"{entry['duration_ms']:.0f} ms" if "duration_ms" in entry else "-"
        rows.append((name, status, took, entry["message"]))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in rows
    ]
    return "\n".join(lines) + f"\n\noverall: {document['overall_status']}\n"
