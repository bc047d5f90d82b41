"""Which DATABASE_URLs may reach their server in plain text over a network."""

from __future__ import annotations

import pytest

from monitor.database_tls import effective_sslmode, hosts_without_tls

PASSWORD = "pw-canary-tls-8812"


@pytest.mark.parametrize(
    ("dsn", "hosts"),
    [
        (f"postgresql://u:{PASSWORD}@db.example.com/app", ["db.example.com"]),
        ("postgresql://u@10.0.0.5:5432/app?sslmode=prefer", ["10.0.0.5"]),
        ("host=db.example.com sslmode=allow dbname=app", ["db.example.com"]),
        ("host=db.example.com sslmode=disable", ["db.example.com"]),
        ("postgresql://u@localhost,db.example.com/app", ["db.example.com"]),
        ("postgresql://u@[2001:db8::5]/app", ["2001:db8::5"]),
        ("host=db.example.com hostaddr=192.0.2.7", ["192.0.2.7"]),
    ],
)
def test_hosts_without_tls__network_hosts_with_weak_sslmode(dsn: str, hosts: list[str]) -> None:
    """A non-loopback host with sslmode absent, disable, allow or prefer is named."""
    assert hosts_without_tls(dsn, {}) == hosts


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://u@db.example.com/app?sslmode=require",
        "postgresql://u@db.example.com/app?sslmode=verify-ca",
        "postgresql://u@db.example.com/app?sslmode=verify-full",
        "postgresql://u@localhost/app",
        "postgresql://u@127.0.0.1/app",
        "postgresql://u@127.8.9.10/app",
        "postgresql://u@[::1]:5432/app",
        "postgresql://u@[::ffff:127.0.0.1]/app",
        "host=/var/run/postgresql dbname=app",
        "postgresql:///app",
        "host=db.example.com hostaddr=127.0.0.1",
    ],
)
def test_hosts_without_tls__nothing_when_tls_required_or_local(dsn: str) -> None:
    """TLS required, or nothing crossing a network (loopback, a Unix socket): no host named."""
    assert hosts_without_tls(dsn, {}) == []


def test_hosts_without_tls__reads_libpq_environment() -> None:
    """PGSSLMODE and PGHOST count as libpq counts them, when the DSN is silent."""
    assert hosts_without_tls("dbname=app", {"PGHOST": "db.example.com"}) == ["db.example.com"]
    assert hosts_without_tls("host=db.example.com", {"PGSSLMODE": "verify-full"}) == []
    assert effective_sslmode("host=h sslmode=require", {"PGSSLMODE": "disable"}) == "require"
    assert effective_sslmode("host=h", {}) == "prefer"
