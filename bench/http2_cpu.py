"""Does HTTP/2 to the Graph API lower the monitor's CPU per check?

A Graph-like endpoint over TLS (hypercorn, which speaks HTTP/1.1 and HTTP/2, in a process of
its own) answers the account lookup; the monitor's own client (capped transport, pooled) sends
the same number of requests, `--concurrency` at a time, once with HTTP/1.1 and once with HTTP/2.
Prints the client process's CPU per request for each. Needs `pip install hypercorn h2`.

    python -m bench.http2_cpu --requests 900 --concurrency 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from monitor.checks.transport import CappedTransport
from tests.fakes.tls import CertificateAuthority
from tests.support.daemon import wait_for
from tests.support.net import free_port

ACCOUNT = json.dumps(
    {
        "id": "104996542523987",
        "name": "Acme Support",
        "account_review_status": "APPROVED",
        "health_status": {"can_send_message": "AVAILABLE", "entities": []},
    }
).encode()

SERVER = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": BODY})
"""


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(url: str, ca: Path, http2: bool, requests: int, concurrency: int) -> float:
    """CPU milliseconds per request of this process, over `requests` GETs."""
    inner = httpx.AsyncHTTPTransport(verify=str(ca), http2=http2, retries=0)
    async with httpx.AsyncClient(transport=CappedTransport(inner=inner), timeout=10) as client:
        await client.get(url)  # the handshake is not what is compared
        queue = iter(range(requests))

        async def worker() -> None:
            for _ in queue:
                response = await client.get(url, params={"fields": "id,name,health_status"})
                assert response.status_code == 200
                assert response.http_version == ("HTTP/2" if http2 else "HTTP/1.1")
                json.loads(response.content)

        before = cpu_seconds()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return (cpu_seconds() - before) / requests * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=900)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        authority = CertificateAuthority()
        ca = directory / "ca.pem"
        ca.write_bytes(authority.cert_pem)
        cert, key = authority.issue().write(directory, "server")
        (directory / "graph_app.py").write_text(f"BODY = {ACCOUNT!r}\n{SERVER}")
        # hypercorn ends a connection after 1000 requests: each run stays below that.
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hypercorn",
                "--certfile",
                str(cert),
                "--keyfile",
                str(key),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "graph_app:app",
            ],
            cwd=directory,
        )
        url = f"https://127.0.0.1:{port}/v25.0/104996542523987"
        try:
            wait_for(lambda: _answers(url, ca), timeout=20)
            for http2 in (False, True) * 3:
                per_request = asyncio.run(measure(url, ca, http2, args.requests, args.concurrency))
                name = "HTTP/2  " if http2 else "HTTP/1.1"
                print(f"{name} {per_request:.3f} ms CPU per request (client)")
        finally:
            server.terminate()
            server.wait(timeout=10)


def _answers(url: str, ca: Path) -> bool:
    try:
        return httpx.get(url, verify=str(ca), timeout=1).status_code == 200
    except httpx.TransportError:
        return False
    finally:
        time.sleep(0.05)


if __name__ == "__main__":
    main()
