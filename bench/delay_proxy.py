"""A UDP DNS proxy on loopback that answers every query after a fixed delay (bench only).

    python bench/delay_proxy.py LISTEN_PORT UPSTREAM_PORT DELAY_MS

Forwards each datagram to 127.0.0.1:UPSTREAM_PORT (e.g. knotd) and sends the reply back
DELAY_MS later, so a benchmark sees a far-away authoritative server without leaving loopback.
Runs in its own process with asyncio, so its own cost does not land on the measured process.
"""

import asyncio
import sys


class Proxy(asyncio.DatagramProtocol):
    def __init__(self, upstream: tuple[str, int], delay: float):
        self.upstream, self.delay = upstream, delay
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, client):
        asyncio.get_running_loop().create_task(self.forward(data, client))

    async def forward(self, data, client):
        loop = asyncio.get_running_loop()
        reply: asyncio.Future = loop.create_future()

        class Upstream(asyncio.DatagramProtocol):
            def datagram_received(self, answer, _address):
                if not reply.done():
                    reply.set_result(answer)

        transport, _ = await loop.create_datagram_endpoint(Upstream, remote_addr=self.upstream)
        try:
            transport.sendto(data)
            answer = await asyncio.wait_for(reply, timeout=5)
        except TimeoutError:
            return
        finally:
            transport.close()
        await asyncio.sleep(self.delay)
        self.transport.sendto(answer, client)


async def main(listen_port: int, upstream_port: int, delay_ms: float):
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(
        lambda: Proxy(("127.0.0.1", upstream_port), delay_ms / 1000), local_addr=("127.0.0.1", listen_port)
    )
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])))
