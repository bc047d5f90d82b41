"""TLS with verification on: a provider whose certificate does not verify is a connection
error that says so, for every HTTP provider."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitor.checks import transport
from monitor.checks.base import Reason, Status
from tests.fakes.providers import serve_healthy_providers
from tests.fakes.tls import (
    CertificateAuthority,
    Issued,
    TlsFakeServer,
    self_signed,
    server_context,
)
from tests.faults.wiring import one_cycle

TIMEOUT = 3.0


@pytest.fixture(scope="module")
def authority() -> CertificateAuthority:
    """One private CA for the module (key generation is the slow part)."""
    return CertificateAuthority()


@pytest.fixture
def trusted(
    authority: CertificateAuthority, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CertificateAuthority]:
    """The checks trust the private CA, as they trust the public ones in production.

    httpx reads SSL_CERT_FILE when it builds a context; the checks share one cached context,
    which is rebuilt on the way in and on the way out.
    """
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(authority.cert_pem)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    transport._tls_context.cache_clear()
    yield authority
    transport._tls_context.cache_clear()


def tls_provider(issued: Issued, directory: Path) -> TlsFakeServer:
    """A healthy fake provider behind `issued`."""
    server = TlsFakeServer(server_context(issued, directory, "server")).start()
    serve_healthy_providers(server)
    return server


async def test_tls__certificate_from_a_trusted_ca_connects(
    trusted: CertificateAuthority, tmp_path: Path
) -> None:
    """With a certificate the monitor trusts, every provider over HTTPS is connected."""
    server = tls_provider(trusted.issue(), tmp_path)
    try:
        results = await one_cycle(server.url, deadline_seconds=TIMEOUT)
    finally:
        server.stop()

    assert {name: r.status for name, r in results.items()} == dict.fromkeys(
        results, Status.CONNECTED
    )


@pytest.mark.parametrize(
    ("certificate", "why"),
    [
        pytest.param(lambda ca: self_signed(), "self-signed", id="self-signed"),
        pytest.param(lambda ca: ca.issue(expired=True), "expired", id="expired"),
        pytest.param(lambda ca: ca.issue(host="api.example.com"), "mismatch", id="other-host"),
    ],
)
async def test_tls__certificate_that_does_not_verify(
    trusted: CertificateAuthority,
    tmp_path: Path,
    certificate: Callable[[CertificateAuthority], Issued],
    why: str,
) -> None:
    """A self-signed, expired or misnamed certificate is a connection error naming the cert."""
    server = tls_provider(certificate(trusted), tmp_path)
    try:
        results = await one_cycle(server.url, deadline_seconds=TIMEOUT)
    finally:
        server.stop()

    for name, result in results.items():
        assert result.status is Status.ERROR, name
        assert result.reason is Reason.CONNECTION, (name, result.outcome.message)
        assert "TLS certificate" in result.outcome.message, name
        assert why in result.outcome.message.lower(), (name, result.outcome.message)
        assert result.duration_ms < TIMEOUT * 1000
    assert not server.requests, "no request may go out over a connection that did not verify"
