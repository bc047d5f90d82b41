"""A throwaway PostgreSQL cluster from Debian's packages, on a free loopback port."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.daemon import subprocess_env
from tests.support.net import free_port

ROLE = "monitor"
PASSWORD = "pg-canary-Password-9f3c"  # a canary: the secret-leak tests look for it
DATABASE = "monitor"


@dataclass(frozen=True)
class PostgresServer:
    """Where the cluster listens and how to reach it."""

    port: int

    def dsn(self, password: str = PASSWORD, database: str = DATABASE) -> str:
        """A DSN for the test role."""
        return f"postgresql://{ROLE}:{password}@127.0.0.1:{self.port}/{database}"


def _bindir() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not candidates:
        raise RuntimeError(
            "PostgreSQL server binaries are missing: install Debian's postgresql package"
        )
    return candidates[-1].parent


def _as_postgres(args: list[str]) -> list[str]:
    # initdb refuses to run as root; Debian's package creates the postgres user for this.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a private cluster with a password role; stop it and remove it afterwards."""
    bindir, port = _bindir(), free_port()
    root = Path(tempfile.mkdtemp(prefix="monitor-pg-"))
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
    data, pwfile = root / "data", root / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        os.chown(pwfile, pw.pw_uid, pw.pw_gid)
    _run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            ROLE,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--no-sync",
        ]
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    _run(
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(root / "log"),
            "-w",
            "start",
        ]
    )
    try:
        _run(
            [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", ROLE, DATABASE],
            env={"PGPASSWORD": PASSWORD},
        )
        yield PostgresServer(port)
    finally:
        _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(root, ignore_errors=True)


def _run(args: list[str], env: dict[str, str] | None = None) -> None:
    # Without the developer's PG* variables: a PGSSLMODE or PGSERVICE of theirs would
    # point the tools elsewhere or demand TLS of a cluster that has none.
    subprocess.run(
        _as_postgres(args), check=True, capture_output=True, env=subprocess_env(env), timeout=60
    )
