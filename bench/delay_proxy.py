"""A UDP DNS proxy on loopback that answers every query a fixed delay late (bench only).

    start(workdir, listen_port, upstream_port, delay_ms) -> subprocess.Popen
    python bench/delay_proxy.py LISTEN_PORT UPSTREAM_PORT DELAY_MS   (the fallback, by hand)

Forwards each query to 127.0.0.1:UPSTREAM_PORT (e.g. knotd) and sends the reply back DELAY_MS
later, so a benchmark sees a far-away authoritative server without leaving loopback (this
machine has no netem). `start` runs PowerDNS dnsdist (`apt-get install dnsdist`) with
`DelayResponseAction`: C++, about 0.1 ms of CPU per query, where the earlier asyncio proxy, a new
upstream socket per query, cost 0.5 ms and took a core's share from the measured worker. Without
dnsdist it runs this file: one upstream socket, queries told apart by a rewritten message ID.
"""

import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path

DNSDIST = shutil.which("dnsdist")


def dnsdist_config(listen_port: int, upstream_port: int, delay_ms: float) -> str:
    return (
        'setSecurityPollSuffix("")\n'  # no status queries to the Internet
        f'setLocal("127.0.0.1:{listen_port}")\n'
        # Health-checked against the bench's own zone, once: the backend is a loopback knotd.
        f'newServer({{address="127.0.0.1:{upstream_port}", checkName="bench.test.", checkType="SOA", '
        "checkInterval=3600, mustResolve=true})\n"
        f"addResponseAction(AllRule(), DelayResponseAction({int(delay_ms)}))\n"
    )


def start(workdir: Path, listen_port: int, upstream_port: int, delay_ms: float) -> subprocess.Popen:
    """The delaying proxy as a process of its own, answering once this returns."""
    if DNSDIST:
        config = Path(workdir) / "dnsdist.conf"
        config.write_text(dnsdist_config(listen_port, upstream_port, delay_ms))
        command = [DNSDIST, "--supervised", "--disable-syslog", "-C", str(config)]
    else:
        command = [sys.executable, __file__, str(listen_port), str(upstream_port), str(delay_ms)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_answering(process, listen_port)
    return process


def _wait_answering(process: subprocess.Popen, port: int) -> None:
    import dns.exception
    import dns.message
    import dns.query

    probe = dns.message.make_query("bench.test.", "SOA")
    for _ in range(100):
        try:
            dns.query.udp(probe, "127.0.0.1", port=port, timeout=1)
            return
        except (OSError, dns.exception.DNSException):
            if process.poll() is not None:
                raise SystemExit(f"delay proxy exited ({process.returncode})") from None
        time.sleep(0.05)  # bench only: waiting for a server to come up
    process.kill()
    raise SystemExit("delay proxy did not answer")


class Upstream(asyncio.DatagramProtocol):
    """One socket to the upstream server for every query: each is sent under a message ID of
    our own, mapped back to the client's ID and address when the answer comes."""

    def __init__(self, delay: float):
        self.delay = delay
        self.pending: dict[int, tuple[bytes, tuple]] = {}
        self.next_id = 0
        self.transport = None
        self.listener = None

    def forward(self, query: bytes, client: tuple) -> None:
        for _ in range(65536):
            self.next_id = (self.next_id + 1) & 0xFFFF
            if self.next_id not in self.pending:
                break
        else:
            return  # 65,536 queries outstanding: drop, as a busy server would
        self.pending[self.next_id] = (query[:2], client)
        self.transport.sendto(self.next_id.to_bytes(2, "big") + query[2:])

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, answer, _address):
        found = self.pending.pop(int.from_bytes(answer[:2], "big"), None)
        if found is None or self.listener is None:
            return
        client_id, client = found
        asyncio.get_running_loop().call_later(self.delay, self.listener.sendto, client_id + answer[2:], client)


class Listener(asyncio.DatagramProtocol):
    def __init__(self, upstream: Upstream):
        self.upstream = upstream

    def connection_made(self, transport):
        self.upstream.listener = transport

    def datagram_received(self, query, client):
        if len(query) >= 12:
            self.upstream.forward(query, client)


async def main(listen_port: int, upstream_port: int, delay_ms: float):
    loop = asyncio.get_running_loop()
    _, upstream = await loop.create_datagram_endpoint(
        lambda: Upstream(delay_ms / 1000), remote_addr=("127.0.0.1", upstream_port)
    )
    await loop.create_datagram_endpoint(lambda: Listener(upstream), local_addr=("127.0.0.1", listen_port))
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])))
