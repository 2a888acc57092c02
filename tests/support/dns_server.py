"""A real DNS server on loopback for tests (dnslib), with records changeable at run time.

Fixtures (registered through `pytest_plugins` in the root conftest.py):

- `dns_server`: the session's server with all records cleared for the test. Methods:
  set_txt(name, *records)  — each record a str/bytes or a list of them (a multi-string record)
  set_cname(name, target), set_a(name, *ips), set_aaaa(name, *ips), set_ns(zone, nsname),
  set_a_sequence(name, [ips], [ips], ...) — successive A answers (DNS rebinding tests),
  set_zone(zone) — SOA + NS ns.<zone> + A ns.<zone> 127.0.0.1 (authoritative-mode discovery),
  set_delegation(child, (nsname, address), ...) — a zone cut: queries without RD at or below
  `child` get a referral (no AA, the child's NS in the authority section, glue A/AAAA in the
  additional section), as the parent's authoritative servers answer; queries with RD (this
  server standing in for a recursive resolver) are answered from its own records,
  set_txt("*.zone", ...) — wildcards answer names that do not exist,
  set_rcode(name, "SERVFAIL"|"REFUSED"|...), set_timeout(name) (never answer), remove(name),
  clear(); attributes host, port, queries (what was asked: name, type, rd, protocol);
  resolver_config(timeout=1.0, authoritative=False) -> domains.verifiers.ResolverConfig.
  Unknown names get NXDOMAIN; names that exist with other types get NOERROR/NODATA; both carry
  the enclosing zone's SOA in the authority section when a zone was set.
- `dns_second_server`: another instance on 127.0.0.2 at the SAME port (the verifiers use one
  port for every nameserver), used as a zone's "authoritative" server with different data.
  Skips when 127.0.0.2 cannot be bound.
- `silent_udp_port`: a port on 127.0.0.1 that takes queries and never answers.
- `dns_settings`: points Django settings at `dns_server` (DNS_NAMESERVERS, DNS_PORT,
  DNS_TIMEOUT_SECONDS, DNS_AUTHORITATIVE_MODE=False).
"""

import ipaddress
import socket
import threading
from dataclasses import dataclass

import pytest
from dnslib import AAAA, CNAME, NS, QTYPE, RCODE, RR, SOA, TXT, A, DNSError
from dnslib.server import DNSHandler, DNSLogger, DNSServer

DEFAULT_TTL = 60


def _key(name: str) -> str:
    return str(name).strip().rstrip(".").lower()


class _Drop(DNSError):
    """Raised by the resolver to send no answer at all (the client times out)."""


class _QuietLogger(DNSLogger):
    def __init__(self):
        super().__init__(log="-request,-reply,-truncated,-error", prefix=False)


class _Handler(DNSHandler):
    def handle(self):
        try:
            super().handle()
        except (OSError, DNSError):  # a client that went away; nothing to answer
            pass


@dataclass(frozen=True)
class Query:
    name: str
    qtype: str
    recursion_desired: bool
    protocol: str
    server: str


class Zone:
    """The records one server serves; every method is thread-safe."""

    def __init__(self):
        self._lock = threading.RLock()
        self.clear()

    def clear(self):
        with self._lock:
            self._records: dict[str, dict[str, list]] = {}
            self._sequences: dict[tuple[str, str], list[list]] = {}
            self._rcodes: dict[str, int] = {}
            self._dropped: set[str] = set()
            self._zones: set[str] = set()
            self._delegations: dict[str, list[tuple[str, str]]] = {}
            self.queries: list[Query] = []

    # --- setting records -------------------------------------------------------------------
    def _set(self, name, qtype, rdatas):
        with self._lock:
            self._records.setdefault(_key(name), {})[qtype] = list(rdatas)

    def set_txt(self, name, *records):
        rdatas = []
        for record in records:
            if isinstance(record, list | tuple):
                strings = [part.encode() if isinstance(part, str) else bytes(part) for part in record]
            else:
                strings = [record.encode() if isinstance(record, str) else bytes(record)]
            rdatas.append(TXT(strings))
        self._set(name, "TXT", rdatas)

    def set_cname(self, name, target):
        self._set(name, "CNAME", [CNAME(_key(target) + ".")])

    def set_a(self, name, *ips):
        self._set(name, "A", [A(ip) for ip in ips])

    def set_aaaa(self, name, *ips):
        self._set(name, "AAAA", [AAAA(list(ipaddress.IPv6Address(ip).packed)) for ip in ips])

    def set_a_sequence(self, name, *answers):
        """Successive A queries get successive answers; the last one then sticks."""
        with self._lock:
            self._sequences[(_key(name), "A")] = [[A(ip) for ip in ips] for ips in answers]
            self._records.setdefault(_key(name), {}).setdefault("A", [])

    def set_ns(self, zone, *nsnames):
        self._set(zone, "NS", [NS(_key(ns) + ".") for ns in nsnames])

    def set_zone(self, zone, ns_address="127.0.0.1"):
        """Make `zone` a zone apex: SOA, NS ns.<zone>, and ns.<zone> A `ns_address`."""
        zone = _key(zone)
        with self._lock:
            self._zones.add(zone)
            self._set(
                zone,
                "SOA",
                [SOA(f"ns.{zone}.", f"hostmaster.{zone}.", (1, 3600, 600, 86400, DEFAULT_TTL))],
            )
            self.set_ns(zone, f"ns.{zone}")
            self.set_a(f"ns.{zone}", ns_address)

    def set_delegation(self, child, *nameservers):
        """`child` is a zone of its own, served by `nameservers`: (name, address) pairs."""
        with self._lock:
            self._delegations[_key(child)] = [(_key(ns), address) for ns, address in nameservers]

    def set_rcode(self, name, rcode: str):
        with self._lock:
            self._rcodes[_key(name)] = getattr(RCODE, rcode.upper())

    def set_timeout(self, name):
        with self._lock:
            self._dropped.add(_key(name))

    def remove(self, name):
        key = _key(name)
        with self._lock:
            self._records.pop(key, None)
            self._rcodes.pop(key, None)
            self._dropped.discard(key)
            self._zones.discard(key)
            for sequence_key in [k for k in self._sequences if k[0] == key]:
                del self._sequences[sequence_key]

    def queries_for(self, name, qtype=None) -> list[Query]:
        key = _key(name)
        with self._lock:
            return [q for q in self.queries if q.name == key and (qtype is None or q.qtype == qtype)]

    # --- answering --------------------------------------------------------------------------
    def _rdatas(self, name, qtype):
        sequence = self._sequences.get((name, qtype))
        if sequence:
            return sequence.pop(0) if len(sequence) > 1 else sequence[0]
        records = self._records.get(name)
        if records is None and not self._exists(name) and "." in name:
            records = self._records.get("*." + name.split(".", 1)[1], {})  # a wildcard one level up
        return (records or {}).get(qtype, [])

    def _delegation_of(self, name):
        """The deepest delegated zone at or above `name` that this server does not serve itself."""
        labels = name.split(".")
        for index in range(len(labels)):
            candidate = ".".join(labels[index:])
            if candidate in self._zones:
                return None
            if candidate in self._delegations:
                return candidate
        return None

    def _referral(self, reply, child):
        reply.header.aa = 0
        for ns, address in self._delegations[child]:
            reply.add_auth(RR(child + ".", QTYPE.NS, rdata=NS(ns + "."), ttl=DEFAULT_TTL))
            version = ipaddress.ip_address(address).version
            rdata = A(address) if version == 4 else AAAA(list(ipaddress.IPv6Address(address).packed))
            reply.add_ar(RR(ns + ".", QTYPE.A if version == 4 else QTYPE.AAAA, rdata=rdata, ttl=DEFAULT_TTL))
        return reply

    def _exists(self, name) -> bool:
        if name in self._records or name in self._zones or name in self._delegations:
            return True
        suffix = "." + name
        return any(other.endswith(suffix) for other in self._records)  # empty non-terminal

    def _zone_of(self, name) -> str | None:
        labels = name.split(".")
        for index in range(len(labels)):
            candidate = ".".join(labels[index:])
            if candidate in self._zones:
                return candidate
        return None

    def _add_soa(self, reply, name):
        zone = self._zone_of(name)
        if zone is not None:
            for rdata in self._records.get(zone, {}).get("SOA", []):
                reply.add_auth(RR(zone + ".", QTYPE.SOA, rdata=rdata, ttl=DEFAULT_TTL))

    def resolve(self, request, handler):
        qname = _key(str(request.q.qname))
        qtype = QTYPE[request.q.qtype]
        with self._lock:
            self.queries.append(
                Query(qname, qtype, bool(request.header.rd), handler.protocol, handler.server.server_address[0])
            )
            if qname in self._dropped:
                raise _Drop("dropped on purpose")
            reply = request.reply(ra=1, aa=1)
            child = None if request.header.rd else self._delegation_of(qname)
            if child is not None:
                return self._referral(reply, child)
            if qname in self._rcodes:
                reply.header.rcode = self._rcodes[qname]
                return reply
            name = qname
            for _ in range(10):  # follow CNAME chains inside our data, as a recursive server would
                cnames = self._records.get(name, {}).get("CNAME")
                if not cnames or qtype == "CNAME":
                    break
                reply.add_answer(RR(name + ".", QTYPE.CNAME, rdata=cnames[0], ttl=DEFAULT_TTL))
                name = _key(str(cnames[0].label))
                if name in self._rcodes:
                    reply.header.rcode = self._rcodes[name]
                    return reply
            rdatas = self._rdatas(name, qtype)
            if rdatas:
                for rdata in rdatas:
                    reply.add_answer(RR(name + ".", getattr(QTYPE, qtype), rdata=rdata, ttl=DEFAULT_TTL))
                if qtype == "NS":
                    for rdata in rdatas:
                        ns = _key(str(rdata.label))
                        for address in self._records.get(ns, {}).get("A", []):
                            reply.add_ar(RR(ns + ".", QTYPE.A, rdata=address, ttl=DEFAULT_TTL))
            elif not self._exists(name):
                reply.header.rcode = RCODE.NXDOMAIN
                self._add_soa(reply, name)
            else:
                self._add_soa(reply, name)  # NOERROR / NODATA
            return reply


class LoopbackDNSServer(Zone):
    """A UDP + TCP DNS server on one random port of `host`."""

    def __init__(self, host="127.0.0.1", port=0):
        super().__init__()
        self.host = host
        self._servers = []
        for _ in range(20):
            udp = DNSServer(self, address=host, port=port, logger=_QuietLogger(), handler=_Handler)
            chosen = udp.server.server_address[1]
            try:
                tcp = DNSServer(self, address=host, port=chosen, tcp=True, logger=_QuietLogger(), handler=_Handler)
            except OSError:
                udp.server.server_close()
                if port:
                    raise
                continue
            self._servers = [udp, tcp]
            self.port = chosen
            break
        else:  # pragma: no cover
            raise RuntimeError("could not bind a DNS server on loopback")
        for server in self._servers:
            server.start_thread()

    def stop(self):
        for server in self._servers:
            server.stop()
            server.server.server_close()

    def resolver_config(self, timeout: float = 1.0, authoritative: bool = False):
        from domains.verifiers import ResolverConfig

        return ResolverConfig(nameservers=(self.host,), port=self.port, timeout=timeout, authoritative=authoritative)


def closed_udp_port(host="127.0.0.1") -> int:
    """A port where nothing listens (for 'nameserver down' tests): bound, then released."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_udp_port():
    """A UDP port that receives queries and never answers (no ICMP error either)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture(scope="session")
def _dns_server_session():
    server = LoopbackDNSServer()
    yield server
    server.stop()


@pytest.fixture
def dns_server(_dns_server_session):
    _dns_server_session.clear()
    yield _dns_server_session
    _dns_server_session.clear()


@pytest.fixture(scope="session")
def _dns_second_server_session(_dns_server_session):
    try:
        server = LoopbackDNSServer(host="127.0.0.2", port=_dns_server_session.port)
    except OSError as error:
        pytest.skip(f"cannot bind a second DNS server on 127.0.0.2: {error}")
    yield server
    server.stop()


@pytest.fixture
def dns_second_server(_dns_second_server_session):
    _dns_second_server_session.clear()
    yield _dns_second_server_session
    _dns_second_server_session.clear()


@pytest.fixture
def dns_settings(settings, dns_server):
    settings.DNS_NAMESERVERS = [dns_server.host]
    settings.DNS_PORT = dns_server.port
    settings.DNS_TIMEOUT_SECONDS = 1.0
    settings.DNS_AUTHORITATIVE_MODE = False
    return dns_server
