"""The loopback identity providers' common plumbing: each runs in its own process, over TLS from
a trustme test CA, and announces its port as its first line of output (`PORT n`)."""

import os
import ssl
import subprocess
import sys
from http.server import ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def issue_tls(folder: Path, *names: str) -> tuple[Path, Path, Path]:
    """A server certificate for `names` from a new test CA: (certificate chain, key, CA bundle)."""
    import trustme  # only the test process needs it, not the provider's own

    ca = trustme.CA()
    certificate = ca.issue_cert(*names)
    cert_path, key_path, ca_path = folder / "tls.pem", folder / "tls.key", folder / "ca.pem"
    certificate.cert_chain_pems[0].write_to_path(str(cert_path))
    for pem in certificate.cert_chain_pems[1:]:
        pem.write_to_path(str(cert_path), append=True)
    certificate.private_key_pem.write_to_path(str(key_path))
    ca.cert_pem.write_to_path(str(ca_path))
    return cert_path, key_path, ca_path


def start(module: str, *args, what: str) -> tuple[subprocess.Popen, int]:
    """`python -m module args…` from the project root, and the port it announced."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    line = process.stdout.readline().strip()
    if not line.startswith("PORT "):
        process.kill()
        raise RuntimeError(f"{what} did not start: {line!r}")
    return process, int(line.split()[1])


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=10)


def serve_https(handler, cert_path: str, key_path: str) -> None:
    """Serve `handler` over TLS on a free loopback port, announced as `start` expects."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"PORT {server.server_port}", flush=True)
    server.serve_forever()
