"""The DNS TXT check: `<prefix><token>` among the TXT records at `<label>.<name>`.

dnspython, a fresh resolver per check (no cache), every TXT record at the host, the strings
of one record joined, CNAMEs followed, names compared case-insensitively, the token compared
in constant time and case-insensitively (it is hexadecimal). In authoritative mode the zone's
own nameservers are asked directly (RD off) so a record published a moment ago verifies at
once: only at addresses netsafety allows, each server with a fair share of the time left,
following referrals into delegated child zones, and trusting a negative answer only when it
carries the authority bit. When they give no reliable answer the recursive answer is used
and a diagnostic says so. When the token is absent we look where people put it by mistake
(diagnostics.py) and say exactly what to change; values found outside the domain (through a
CNAME) are never shown.

NOERROR without a match and NXDOMAIN are definitive; timeouts, SERVFAIL, REFUSED, referrals
we cannot follow and unreachable nameservers are inconclusive.
"""

import secrets
import selectors
import socket
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver

from console.messages import Message, gettext_noop
from domains.verifiers import diagnostics
from domains.verifiers.netsafety import is_forbidden_address
from domains.verifiers.results import CheckResult, Outcome, ResolverConfig, msg, remaining

# Outcomes of one TXT lookup.
FOUND = "found"  # NOERROR with TXT records (values may still not match)
NODATA = "nodata"  # NOERROR without TXT records
NXDOMAIN = "nxdomain"
ERROR = "error"  # timeout, SERVFAIL, REFUSED, no nameservers: no answer to rely on

MAX_CNAME_HOPS = 10
MAX_AUTHORITATIVE_SERVERS = 4
MAX_REFERRALS = 4


@dataclass
class Lookup:
    status: str
    values: list[str] = field(default_factory=list)
    error: str = ""  # short technical reason for ERROR ("timeout", "SERVFAIL", ...)
    name: str = ""  # where the values were found, after CNAMEs ("" when not known)


def lifetime(config: ResolverConfig, deadline: float) -> float:
    return max(0.05, min(float(config.timeout), remaining(deadline)))


def new_resolver(config: ResolverConfig, deadline: float) -> dns.resolver.Resolver:
    """A fresh resolver with no cache; the configured nameservers and port, or the system's."""
    if config.nameservers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = list(config.nameservers)
        resolver.port = int(config.port)
    else:
        resolver = dns.resolver.Resolver(configure=True)
    resolver.cache = None
    resolver.search = []
    resolver.use_search_by_default = False
    resolver.timeout = resolver.lifetime = lifetime(config, deadline)
    return resolver


def error_reason(error: Exception) -> str:
    text = str(error)
    for rcode in ("SERVFAIL", "REFUSED", "NOTIMP", "FORMERR"):
        if rcode in text:
            return rcode
    if isinstance(error, dns.exception.Timeout):
        return "timeout"
    if isinstance(error, dns.resolver.NoNameservers):
        return "no nameserver answered"
    return type(error).__name__


def _txt_values(rrset) -> list[str]:
    # The strings of one record are one value.
    return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in rrset]


def _recursive_txt(qname: str, config: ResolverConfig, deadline: float) -> Lookup:
    if remaining(deadline) <= 0:
        return Lookup(ERROR, error="timeout")
    resolver = new_resolver(config, deadline)
    try:
        answer = resolver.resolve(qname, "TXT", search=False, raise_on_no_answer=False, lifetime=lifetime(config, deadline))
    except dns.resolver.NXDOMAIN:
        return Lookup(NXDOMAIN)
    except dns.resolver.NoAnswer:  # pragma: no cover  (raise_on_no_answer=False)
        return Lookup(NODATA)
    except (dns.exception.DNSException, OSError, ValueError) as error:
        return Lookup(ERROR, error=error_reason(error))
    if answer.rrset is None:
        return Lookup(NODATA)
    return Lookup(FOUND, _txt_values(answer.rrset), name=_plain(answer.canonical_name))


def _plain(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


@dataclass
class _Pending:
    key: object
    resolution: object
    request: dns.message.Message
    sent_at: float
    expires_at: float


def first_lookups(
    items: Iterable[tuple[object, str]], *, resolver: ResolverConfig, label: str, deadline: float, concurrency: int
) -> Iterator[tuple[object, Lookup, float]]:
    """The lookup each check starts with (the TXT records at `<label>.<name>`), for many names
    at once from ONE thread and ONE socket, at most `concurrency` in flight: the sweep needs no
    thread per query (dns.asyncresolver would still open a socket, an asyncio endpoint, per query). Yields (key, Lookup, seconds it took) as answers come, in recursive mode
    with configured nameservers only (otherwise nothing); a name whose answer needs more than
    one plain UDP exchange (truncated, SERVFAIL, an error, several servers to try) is left out,
    and its check makes the lookup itself. dnspython's own resolution steps read each answer,
    so a lookup here is the one `_recursive_txt` would have made.
    """
    if resolver.authoritative or not resolver.nameservers:
        return
    queue = list(items)
    queue.reverse()
    base = new_resolver(resolver, deadline)
    # Made once here (dnspython's own conversion), not again for every name's resolution.
    base.nameservers = base._enrich_nameservers(base.nameservers, base.nameserver_ports, base.port)
    pending: dict[int, _Pending] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, selectors.DefaultSelector() as selector:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        while queue or pending:
            while queue and len(pending) < concurrency:
                key, name = queue.pop()
                started = _send_first(sock, base, key, name, label, resolver, deadline, pending)
                if started is not None:
                    yield started
            now = time.monotonic()
            wait = min(entry.expires_at for entry in pending.values()) - now if pending else 0
            if selector.select(max(0.0, wait)):
                yield from _receive(sock, pending, resolver)
            now = time.monotonic()
            for query_id in [i for i, entry in pending.items() if entry.expires_at <= now]:
                entry = pending.pop(query_id)
                if len(resolver.nameservers) == 1:  # as resolve() with one server: its lifetime ran out
                    yield entry.key, Lookup(ERROR, error="timeout"), now - entry.sent_at


def _send_first(sock, base, key, name, label, config, deadline, pending):
    """Send the first query of `name`'s lookup; a Lookup at once when there is nothing to ask."""
    host = f"{label}.{name}" if label else name
    started = time.monotonic()
    if remaining(deadline) <= 0:
        return key, Lookup(ERROR, error="timeout"), 0.0
    try:
        resolution = dns.resolver._Resolution(base, host, dns.rdatatype.TXT, dns.rdataclass.IN, False, False, False)
        request, _cached = resolution.next_request()
        nameserver, tcp, backoff = resolution.next_nameserver()
    except (dns.exception.DNSException, ValueError):
        return None  # e.g. a name too long for DNS: the check's own lookup says so
    if tcp or backoff or not isinstance(nameserver, dns.nameserver.Do53Nameserver):
        return None
    while True:
        request.set_random_id()
        if request.id not in pending:
            break
    try:
        sock.sendto(request.to_wire(), (nameserver.address, nameserver.port))
    except OSError:
        return None
    pending[request.id] = _Pending(key, resolution, request, started, started + lifetime(config, deadline))
    return None


def _receive(sock, pending: dict[int, "_Pending"], config: ResolverConfig):
    """Read every answer waiting on the socket; those that settle a lookup become Lookups."""
    servers = {(address, int(config.port)) for address in config.nameservers}
    while True:
        try:
            wire, source = sock.recvfrom(65535)
        except BlockingIOError:
            return
        except OSError:
            continue  # e.g. ICMP port unreachable: that query times out, as with resolve()
        if len(wire) < 2 or source[:2] not in servers:
            continue  # not from a server we asked: ignored, as dnspython ignores unexpected sources
        entry = pending.get(int.from_bytes(wire[:2], "big"))
        if entry is None:
            continue
        try:
            response = dns.message.from_wire(
                wire, keyring=entry.request.keyring, request_mac=entry.request.mac, raise_on_truncation=True
            )
        except dns.message.Truncated:
            pending.pop(entry.request.id)
            continue  # needs TCP: the check's own lookup does it
        except (dns.exception.DNSException, ValueError):
            continue  # garbage under a pending ID: wait for the real answer
        if not entry.request.is_response(response):
            continue
        pending.pop(entry.request.id)
        lookup = _settle(entry.resolution, response)
        if lookup is not None:
            yield entry.key, lookup, time.monotonic() - entry.sent_at


def _settle(resolution, response) -> Lookup | None:
    """What `_recursive_txt` makes of this answer, or None when resolve() would ask again."""
    try:
        answer, done = resolution.query_result(response, None)
        if not done:
            return None
        if answer is None:
            request, answer = resolution.next_request()  # raises NXDOMAIN when no name is left
            if request is not None or answer is None:
                return None
    except dns.resolver.NXDOMAIN:
        return Lookup(NXDOMAIN)
    except (dns.exception.DNSException, ValueError):
        return None
    if answer.rrset is None:
        return Lookup(NODATA)
    return Lookup(FOUND, _txt_values(answer.rrset), name=_plain(answer.canonical_name))


# --- authoritative mode ------------------------------------------------------------------------


@dataclass
class Authority:
    """The zone's nameserver addresses, found once per check (authoritative mode)."""

    zone: str = ""
    addresses: list[str] = field(default_factory=list)
    problem: str = ""  # why we could not use them


def _nameserver_addresses(resolver, ns_answer, config: ResolverConfig, deadline: float) -> list[str]:
    addresses: list[str] = []
    for ns in ns_answer:
        for rdtype in ("A", "AAAA"):
            if remaining(deadline) <= 0:
                return addresses
            try:
                answer = resolver.resolve(ns.target, rdtype, search=False, lifetime=lifetime(config, deadline))
            except (dns.exception.DNSException, OSError, ValueError):
                continue
            addresses.extend(a.address for a in answer if a.address not in addresses)
    return addresses


def _safe_addresses(addresses: list[str], allow_loopback: bool) -> tuple[list[str], str]:
    """The addresses we may send queries to, and why the others were refused ("" if none was)."""
    allowed, refused = [], []
    for address in addresses:
        reason = is_forbidden_address(address, allow_loopback=allow_loopback)
        if reason:
            refused.append(f"{address}: {reason}")
        else:
            allowed.append(address)
    return allowed, "; ".join(refused[:2])


def find_authority(name: str, config: ResolverConfig, deadline: float, *, allow_loopback: bool) -> Authority:
    resolver = new_resolver(config, deadline)
    try:
        zone = dns.resolver.zone_for_name(name, resolver=resolver, lifetime=lifetime(config, deadline))
    except (dns.exception.DNSException, OSError, ValueError) as error:
        return Authority(problem=f"zone not found ({error_reason(error)})")
    authority = Authority(zone=zone.to_text(omit_final_dot=True))
    try:
        ns_answer = resolver.resolve(zone, "NS", search=False, lifetime=lifetime(config, deadline))
    except (dns.exception.DNSException, OSError, ValueError) as error:
        authority.problem = f"no NS records for {authority.zone} ({error_reason(error)})"
        return authority
    addresses = _nameserver_addresses(resolver, ns_answer, config, deadline)
    authority.addresses, refused = _safe_addresses(addresses, allow_loopback)
    if refused and not authority.addresses:
        authority.problem = f"their addresses are special-purpose, so we do not query them ({refused})"
    elif not authority.addresses:
        authority.problem = f"the nameservers of {authority.zone} have no address"
    return authority


def _final_name(response, target):
    """Follow a CNAME chain inside the answer section; the final name's TXT records count."""
    current = target
    for _ in range(MAX_CNAME_HOPS):
        cname = response.get_rrset(response.answer, current, dns.rdataclass.IN, dns.rdatatype.CNAME)
        if cname is None:
            break
        current = cname[0].target
    return current


def _read_authoritative_answer(response, target, config: ResolverConfig, deadline: float) -> Lookup:
    current = _final_name(response, target)
    txt = response.get_rrset(response.answer, current, dns.rdataclass.IN, dns.rdatatype.TXT)
    if txt is not None:
        return Lookup(FOUND, _txt_values(txt), name=_plain(current))
    if current != target:
        # The CNAME points elsewhere (maybe another zone): let the recursive resolver chase it.
        return _recursive_txt(current.to_text(), config, deadline)
    return Lookup(NODATA)


def _referral(response, target, zone: dns.name.Name):
    """The NS records of a zone cut between `zone` and `target`, if this answer is a referral.

    A referral is not authoritative, has no answer and names the servers of a child zone: it
    says "ask them", never "there is no such record".
    """
    if response.flags & dns.flags.AA or response.answer:
        return None
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.NS and target.is_subdomain(rrset.name) and rrset.name != zone:
            if rrset.name.is_subdomain(zone):
                return rrset
    return None


def _referral_addresses(referral, response, config: ResolverConfig, deadline: float) -> list[str]:
    """The child zone's nameserver addresses: the glue in the answer, else looked up."""
    addresses: list[str] = []
    for rrset in response.additional:
        if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA) and any(ns.target == rrset.name for ns in referral):
            addresses.extend(rdata.address for rdata in rrset if rdata.address not in addresses)
    if not addresses:
        addresses = _nameserver_addresses(new_resolver(config, deadline), referral, config, deadline)
    return addresses


@dataclass
class _Reply:
    response: object = None
    error: str = ""  # why no server gave an answer we can rely on


def _ask_servers(target, zone, addresses: list[str], config: ResolverConfig, deadline: float) -> _Reply:
    """The first reliable answer from `addresses`; each server gets a fair share of the time left,
    so one that never answers cannot use up the check's deadline before the others are asked."""
    servers = addresses[:MAX_AUTHORITATIVE_SERVERS]
    error = "no nameserver answered"
    for index, address in enumerate(servers):
        left = remaining(deadline)
        if left <= 0:
            return _Reply(error="timeout")
        query = dns.message.make_query(target, "TXT")
        query.flags &= ~dns.flags.RD
        budget = max(0.05, min(float(config.timeout), left / (len(servers) - index)))
        try:
            response, _ = dns.query.udp_with_fallback(query, address, timeout=budget, port=int(config.port))
        except (dns.exception.DNSException, OSError, ValueError) as exception:
            error = error_reason(exception)
            continue
        rcode = response.rcode()
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            error = dns.rcode.to_text(rcode)
        elif response.flags & dns.flags.AA or response.answer or _referral(response, target, zone) is not None:
            return _Reply(response)
        else:
            error = "a nameserver answered without authority"  # a lame server: ask the next
    return _Reply(error=error)


def _authoritative_txt(
    qname: str, authority: Authority, config: ResolverConfig, deadline: float, *, allow_loopback: bool
) -> Lookup:
    """Ask the zone's nameservers directly, RD off, following referrals to child zones;
    ERROR (and so the recursive answer) when no server gives an answer we can rely on."""
    target = dns.name.from_text(qname)
    zone = dns.name.from_text(authority.zone)
    addresses = authority.addresses
    for _ in range(MAX_REFERRALS + 1):
        reply = _ask_servers(target, zone, addresses, config, deadline)
        if reply.response is None:
            return Lookup(ERROR, error=reply.error)
        referral = _referral(reply.response, target, zone)
        if referral is None:
            return _read_answer(reply.response, target, config, deadline)
        zone = referral.name
        addresses, refused = _safe_addresses(
            _referral_addresses(referral, reply.response, config, deadline), allow_loopback
        )
        if not addresses:
            reason = refused or "its nameservers have no address"
            return Lookup(ERROR, error=f"{_plain(zone)} is delegated and {reason}")
    return Lookup(ERROR, error="too many referrals")


def _read_answer(response, target, config: ResolverConfig, deadline: float) -> Lookup:
    if response.rcode() == dns.rcode.NXDOMAIN:
        return Lookup(NXDOMAIN)
    return _read_authoritative_answer(response, target, config, deadline)


class DnsContext:
    """One check's lookups: the zone's nameservers are found once, on first use."""

    def __init__(self, name: str, config: ResolverConfig, deadline: float, *, allow_loopback: bool):
        self.name = name
        self.config = config
        self.deadline = deadline
        self.allow_loopback = allow_loopback
        self.authority: Authority | None = None
        self.fell_back = ""  # why the authoritative servers were not used, if they were not

    def ensure_authority(self) -> None:
        if self.config.authoritative and self.authority is None:
            self.authority = find_authority(self.name, self.config, self.deadline, allow_loopback=self.allow_loopback)

    def lookup(self, qname: str) -> Lookup:
        try:
            return self._lookup(qname)
        except (dns.exception.DNSException, OSError, ValueError) as error:  # e.g. a name too long for DNS
            return Lookup(ERROR, error=error_reason(error))

    def _lookup(self, qname: str) -> Lookup:
        if self.config.authoritative:
            self.ensure_authority()
            if not self.authority.problem:
                result = _authoritative_txt(
                    qname, self.authority, self.config, self.deadline, allow_loopback=self.allow_loopback
                )
                if result.status != ERROR:
                    return result
                self.fell_back = self.fell_back or result.error
            else:
                self.fell_back = self.fell_back or self.authority.problem
        return _recursive_txt(qname, self.config, self.deadline)


# --- the check -----------------------------------------------------------------------------------


def _with_fallback_note(context: DnsContext, messages: list[Message]) -> tuple[Message, ...]:
    if context.fell_back:
        messages.append(
            msg(
                gettext_noop(
                    "We could not ask the domain's own nameservers (%(reason)s), so this answer comes from "
                    "a recursive resolver and may be up to a few hours old."
                ),
                reason=context.fell_back,
            )
        )
    return tuple(messages)


def _failed_lookup_detail(lookup: Lookup, host: str) -> Message:
    if lookup.error == "timeout":
        return msg(
            gettext_noop("The DNS lookup of %(host)s timed out. We will try again; nothing changes meanwhile."),
            host=host,
        )
    return msg(
        gettext_noop("The DNS lookup of %(host)s failed (%(reason)s). We will try again; nothing changes meanwhile."),
        host=host,
        reason=lookup.error,
    )


def _misplacement_diagnostics(
    context: DnsContext, name: str, token: str, *, label: str, prefix: str, old_tokens: tuple[str, ...]
) -> list[Message]:
    """Look, in parallel, where people put the record by mistake, and say what was found there."""
    candidates = diagnostics.misplacement_candidates(name, label=label, prefix=prefix)
    if remaining(context.deadline) <= 0:
        return []
    context.ensure_authority()  # once, before the threads share it
    # A name nobody publishes: if it holds the token too, what we find comes from a wildcard.
    probe = f"wildcard-probe-{secrets.token_hex(6)}.{name}"
    with ThreadPoolExecutor(max_workers=len(candidates) + 1) as pool:
        lookups = list(pool.map(context.lookup, [probe, *(candidate.qname for candidate in candidates)]))
    wildcard, lookups = lookups[0], lookups[1:]
    if wildcard.status == FOUND and diagnostics.holds_token_or_old(
        wildcard.values, token, prefix=prefix, old_tokens=old_tokens
    ):
        return [diagnostics.wildcard_message(name, host=f"{label}.{name}")]
    found = [
        (candidate, lookup.values)
        for candidate, lookup in zip(candidates, lookups, strict=True)
        if lookup.status == FOUND
    ]
    return diagnostics.misplacement_messages(
        found, token, host=f"{label}.{name}", label=label, prefix=prefix, old_tokens=old_tokens
    )


def _absent_token_verdict(
    lookup: Lookup, host: str, token: str, *, prefix: str, old_tokens: tuple[str, ...]
) -> tuple[Outcome, Message, list[Message]]:
    """NOT_FOUND or MISMATCH for an answer that does not hold the token, with what we saw."""
    if lookup.status == FOUND:
        messages, ours = diagnostics.value_diagnostics(host, lookup.values, token, prefix=prefix, old_tokens=old_tokens)
        detail = msg(
            gettext_noop("Found %(count)s TXT record(s) at %(host)s but none holds the token. Seen: %(values)s."),
            count=len(lookup.values),
            host=host,
            values=diagnostics.describe_values(lookup.values),
        )
        return (Outcome.MISMATCH if ours else Outcome.NOT_FOUND), detail, messages
    if lookup.status == NODATA:
        return Outcome.NOT_FOUND, msg(gettext_noop("%(host)s exists but has no TXT record."), host=host), []
    return Outcome.NOT_FOUND, msg(gettext_noop("There is no DNS record at %(host)s (NXDOMAIN)."), host=host), []


def _within(found_at: str, name: str) -> bool:
    return found_at == name or found_at.endswith("." + name)


def _verdict_elsewhere(lookup: Lookup, host: str, token: str, *, prefix: str) -> tuple[Outcome, Message, list[Message]]:
    """Values reached through a CNAME outside the domain belong to someone else: never shown."""
    ours = any(
        diagnostics.examine(value, token, prefix=prefix, old_tokens=()).looks_like_ours for value in lookup.values
    )
    if ours:
        text = gettext_noop(
            "%(host)s is an alias (CNAME) of %(target)s, outside your domain. Its %(count)s TXT record(s) do not "
            "hold the token; one of them starts with %(prefix)s but holds a different token."
        )
    else:
        text = gettext_noop(
            "%(host)s is an alias (CNAME) of %(target)s, outside your domain. Its %(count)s TXT record(s) do not "
            "hold the token, and none of them starts with %(prefix)s."
        )
    detail = msg(text, host=host, target=lookup.name, count=len(lookup.values), prefix=prefix)
    return (Outcome.MISMATCH if ours else Outcome.NOT_FOUND), detail, []


def holds_token(lookup: Lookup, token: str, *, prefix: str) -> bool:
    """The lookup found `<prefix><token>`: the check is verified with nothing more to ask."""
    return lookup.status == FOUND and any(
        diagnostics.examine(value, token, prefix=prefix, old_tokens=()).exact for value in lookup.values
    )


def check_dns_txt(
    name, token, *, resolver: ResolverConfig, label, prefix, deadline, allow_loopback, old_tokens=(), first_lookup=None
) -> CheckResult:
    """Look for `<prefix><token>` among the TXT records at `<label>.<name>`.

    In authoritative mode nameservers are asked only at addresses netsafety allows
    (`allow_loopback` as for the HTTPS check: tests only); others mean the recursive answer.
    `first_lookup`: that lookup already made (`first_lookups`), so it is not made again.
    """
    name = str(name).strip().rstrip(".").lower()
    old_tokens = tuple(t for t in old_tokens if t and t != token)
    host = f"{label}.{name}" if label else name
    context = DnsContext(name, resolver, deadline, allow_loopback=allow_loopback)
    lookup = first_lookup if first_lookup is not None else context.lookup(host)
    if lookup.status == ERROR:
        return CheckResult(Outcome.INCONCLUSIVE, _failed_lookup_detail(lookup, host), _with_fallback_note(context, []))
    if holds_token(lookup, token, prefix=prefix):
        detail = msg(gettext_noop("Found the verification TXT record at %(host)s."), host=host)
        return CheckResult(Outcome.VERIFIED, detail, _with_fallback_note(context, []))

    if lookup.status == FOUND and not _within(lookup.name or host, name):
        outcome, detail, messages = _verdict_elsewhere(lookup, host, token, prefix=prefix)
    else:
        outcome, detail, messages = _absent_token_verdict(lookup, host, token, prefix=prefix, old_tokens=old_tokens)
    messages.extend(
        _misplacement_diagnostics(context, name, token, label=label, prefix=prefix, old_tokens=old_tokens)
    )
    if outcome == Outcome.NOT_FOUND and not messages:
        messages.append(
            msg(
                gettext_noop(
                    "Add a TXT record at host %(label)s with the value %(expected)s. New records can take "
                    "up to 72 hours to be visible everywhere."
                ),
                label=label,
                expected=f"{prefix}{token}",
            )
        )
    return CheckResult(outcome, detail, _with_fallback_note(context, messages))
