"""The fake provider server over TLS, and the certificates to serve: a private CA, a leaf it
signs (valid, expired, or for another host name) and a self-signed leaf.

Certificates are made in memory with `cryptography` and written to a directory only because
`ssl.SSLContext.load_cert_chain` reads files.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fakes.server import FakeServer

LOOPBACK = ipaddress.IPv4Address("127.0.0.1")
_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, as PEM."""

    cert_pem: bytes
    key_pem: bytes

    def write(self, directory: Path, name: str) -> tuple[Path, Path]:
        """Write the PEM files; returns (certificate path, key path)."""
        cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
        cert_path.write_bytes(self.cert_pem)
        key_path.write_bytes(self.key_pem)
        return cert_path, key_path


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


class CertificateAuthority:
    """A private CA: trust its certificate on the client, and it issues server certificates."""

    def __init__(self) -> None:
        self._key = _new_key()
        now = dt.datetime.now(dt.UTC)
        self._subject = _name("integration-monitor test CA")
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(self._subject)
            .issuer_name(self._subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _DAY)
            .not_valid_after(now + 30 * _DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )

    @property
    def cert_pem(self) -> bytes:
        """The CA certificate, for a client's trust store."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(self, *, host: str | None = None, expired: bool = False) -> Issued:
        """A server certificate for 127.0.0.1 (or for DNS name `host`), valid now or expired."""
        key = _new_key()
        now = dt.datetime.now(dt.UTC)
        not_after = now - _DAY if expired else now + 30 * _DAY
        certificate = (
            _leaf_builder(key, host)
            .issuer_name(self._subject)
            .not_valid_before(not_after - 30 * _DAY)
            .not_valid_after(not_after)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        return Issued(certificate.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def self_signed(host: str | None = None) -> Issued:
    """A server certificate for 127.0.0.1 that nobody vouches for but itself."""
    key = _new_key()
    now = dt.datetime.now(dt.UTC)
    certificate = (
        _leaf_builder(key, host)
        .issuer_name(_name(host or str(LOOPBACK)))
        .not_valid_before(now - _DAY)
        .not_valid_after(now + 30 * _DAY)
        .sign(key, hashes.SHA256())
    )
    return Issued(certificate.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def _leaf_builder(key: ec.EllipticCurvePrivateKey, host: str | None) -> x509.CertificateBuilder:
    alt_name: x509.GeneralName = x509.DNSName(host) if host else x509.IPAddress(LOOPBACK)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(host or str(LOOPBACK)))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.SubjectAlternativeName([alt_name]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
    )


def server_context(issued: Issued, directory: Path, name: str) -> ssl.SSLContext:
    """A server-side TLS context presenting `issued`."""
    cert_path, key_path = issued.write(directory, name)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


class TlsFakeServer(FakeServer):
    """The fake provider server, speaking HTTPS with the certificate in `context`."""

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__()
        self._ssl_context = context

    @property
    def url(self) -> str:
        """The base URL clients use."""
        return f"https://127.0.0.1:{self.port}"

    async def _listen(self) -> None:
        self._stop_hanging = asyncio.Event()
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, ssl=self._ssl_context
        )
