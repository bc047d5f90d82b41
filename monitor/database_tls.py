"""Whether the PostgreSQL check may talk to its server in plain text over a network.

libpq does what the DSN's `sslmode` says, and its default, `prefer`, tries TLS but falls back
to plain text and never verifies the certificate: anyone on the path can read the traffic or
pose as the server. Only `verify-full` checks both the certificate and the host name. Over
loopback or a Unix socket nothing crosses a network, so no mode matters there.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from psycopg.conninfo import conninfo_to_dict

# Modes that allow an unencrypted connection:
# https://www.postgresql.org/docs/current/libpq-ssl.html#LIBPQ-SSL-PROTECTION
WEAK_SSLMODES = frozenset({"disable", "allow", "prefer"})
LIBPQ_DEFAULT_SSLMODE = "prefer"


def effective_sslmode(dsn: str, environ: Mapping[str, str]) -> str:
    """The sslmode libpq will use: the DSN's, else PGSSLMODE, else libpq's default."""
    given = conninfo_to_dict(dsn).get("sslmode") or environ.get("PGSSLMODE")
    return str(given or LIBPQ_DEFAULT_SSLMODE).strip().lower()


def hosts_without_tls(dsn: str, environ: Mapping[str, str]) -> list[str]:
    """The non-loopback hosts the DSN reaches with an sslmode that allows plain text.

    Empty when TLS is required, or when every host is local. Settings in a pg_service.conf
    file named by `service` are not read.
    """
    if effective_sslmode(dsn, environ) not in WEAK_SSLMODES:
        return []
    return [host for host in destinations(dsn, environ) if not is_local(host)]


def destinations(dsn: str, environ: Mapping[str, str]) -> list[str]:
    """Where libpq connects, one entry per host of the DSN (or of PGHOST / PGHOSTADDR).

    `hostaddr`, when given for an entry, is the address used; `host` then only names the
    server for certificate checks. An empty entry means libpq's default Unix socket.
    """
    conninfo = conninfo_to_dict(dsn)
    hosts = _entries(conninfo.get("host") or environ.get("PGHOST"))
    addresses = _entries(conninfo.get("hostaddr") or environ.get("PGHOSTADDR"))
    count = max(len(hosts), len(addresses))
    hosts += [""] * (count - len(hosts))
    addresses += [""] * (count - len(addresses))
    return [address or host for host, address in zip(hosts, addresses, strict=True)]


def _entries(value: object) -> list[str]:
    return [entry.strip() for entry in str(value or "").split(",")]


def is_local(host: str) -> bool:
    """A Unix socket (a path, or libpq's default), `localhost`, or a loopback address."""
    if not host or host.startswith(("/", "@")):  # "@": Linux's abstract socket namespace
        return True
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a host name: it could resolve anywhere
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is loopback too
    return address.is_loopback or (mapped is not None and mapped.is_loopback)
