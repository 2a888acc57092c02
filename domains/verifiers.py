"""Pure I/O checks of domain ownership: no ORM, no settings (callers pass configuration).

INTERFACE (implemented by the verifier work; callers rely on exactly these names):

    CheckResult(outcome, detail: Message, diagnostics: tuple[Message, ...], duration_ms)
    ResolverConfig(nameservers, port, timeout, authoritative)
    check_dns_txt(name, token, *, resolver: ResolverConfig, label, prefix, deadline, old_tokens=()) -> CheckResult
    check_https_file(name, token, *, resolver: ResolverConfig, port, filename, ca_bundle,
                     allow_loopback, connect_timeout, max_bytes, deadline, old_tokens=()) -> CheckResult

`deadline` is an absolute time.monotonic() value. Outcomes: "verified", "not_found",
"mismatch", "inconclusive".

DNS: dnspython, a fresh resolver per check (no cache), every TXT record at `<label>.<name>`,
the strings of one record joined, CNAMEs followed, names compared case-insensitively, the
token compared in constant time. In authoritative mode the zone's own nameservers are asked
directly (RD off) so a record published a moment ago verifies at once; when they cannot be
reached the recursive answer is used and a diagnostic says so. When the token is absent we
look where people put it by mistake (doubled zone, apex, other labels, old token, quotes,
spaces, missing prefix) and say exactly what to change.

HTTPS: we do not use `requests-hardened` (saleor). It resolves names with the system
resolver (socket.getaddrinfo), so it cannot use our configurable dnspython resolver, and its
filter is built on the `ipaddress` module's private/loopback flags, which miss IPv4 hidden in
NAT64 and 6to4 addresses. Instead we resolve A and AAAA ourselves, refuse the whole check if
any address is special-purpose (domains/netsafety.py), and connect with `requests` to the very
address we checked, with SNI, certificate name and Host header set to the domain (no DNS
rebinding window). Redirects are followed by hand (at most 10, 301/302/307/308, https only,
each hop re-resolved and re-checked, loops detected); at most `max_bytes` of the body are
read, and the body never appears in any message.

Outcome rules: NOERROR without a match, NXDOMAIN, HTTP 404/410, a body without the token, a
forbidden address, an http-only redirect and an untrusted certificate are definitive
(not_found / mismatch); timeouts, SERVFAIL, REFUSED, connection errors and 5xx are
inconclusive — they never grant and never revoke.
"""

import hmac
import ipaddress
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import requests
from requests.adapters import HTTPAdapter

from domains.messages import Message, gettext_noop
from domains.netsafety import is_forbidden_address

VERIFIED = "verified"
NOT_FOUND = "not_found"
MISMATCH = "mismatch"
INCONCLUSIVE = "inconclusive"

MAX_REDIRECTS = 10
MAX_SHOWN_VALUES = 3
MAX_SHOWN_VALUE_LENGTH = 80
REDIRECT_STATUSES = (301, 302, 307, 308)
USER_AGENT = "AdminCenter-DomainVerification/1.0"


@dataclass(frozen=True)
class ResolverConfig:
    nameservers: tuple[str, ...] = ()
    port: int = 53
    timeout: float = 3.0
    authoritative: bool = False


@dataclass(frozen=True)
class CheckResult:
    outcome: str
    detail: Message
    diagnostics: tuple[Message, ...] = field(default_factory=tuple)
    duration_ms: int = 0

    @property
    def is_definitive_failure(self) -> bool:
        return self.outcome in (NOT_FOUND, MISMATCH)


def _msg(text: str, **params) -> Message:
    return Message(text, params)


def _remaining(deadline: float) -> float:
    return deadline - time.monotonic()


def _tokens_equal(candidate: str, token: str) -> bool:
    return hmac.compare_digest(candidate.encode("utf-8", "replace"), token.encode("utf-8", "replace"))


def _shorten(value: str, limit: int = MAX_SHOWN_VALUE_LENGTH) -> str:
    value = "".join(ch if ch.isprintable() else "?" for ch in value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


# ============================================================================================
# DNS
# ============================================================================================

# Outcomes of one TXT lookup.
_FOUND = "found"  # NOERROR with TXT records (values may still not match)
_NODATA = "nodata"  # NOERROR without TXT records
_NXDOMAIN = "nxdomain"
_ERROR = "error"  # timeout, SERVFAIL, REFUSED, no nameservers: no answer to rely on


@dataclass
class _Lookup:
    status: str
    values: list[str] = field(default_factory=list)
    error: str = ""  # short technical reason for _ERROR ("timeout", "SERVFAIL", ...)
    via_authoritative: bool = False


def _new_resolver(config: ResolverConfig, deadline: float) -> dns.resolver.Resolver:
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
    budget = max(0.05, min(float(config.timeout), _remaining(deadline)))
    resolver.timeout = budget
    resolver.lifetime = budget
    return resolver


def _lifetime(config: ResolverConfig, deadline: float) -> float:
    return max(0.05, min(float(config.timeout), _remaining(deadline)))


def _error_reason(error: Exception) -> str:
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
    values = []
    for rdata in rrset:
        joined = b"".join(rdata.strings)  # the strings of one record are one value
        values.append(joined.decode("utf-8", "replace"))
    return values


def _recursive_txt(qname: str, config: ResolverConfig, deadline: float) -> _Lookup:
    if _remaining(deadline) <= 0:
        return _Lookup(_ERROR, error="timeout")
    resolver = _new_resolver(config, deadline)
    try:
        answer = resolver.resolve(
            qname, "TXT", search=False, raise_on_no_answer=False, lifetime=_lifetime(config, deadline)
        )
    except dns.resolver.NXDOMAIN:
        return _Lookup(_NXDOMAIN)
    except dns.resolver.NoAnswer:  # pragma: no cover  (raise_on_no_answer=False)
        return _Lookup(_NODATA)
    except (dns.exception.DNSException, OSError, ValueError) as error:
        return _Lookup(_ERROR, error=_error_reason(error))
    if answer.rrset is None:
        return _Lookup(_NODATA)
    return _Lookup(_FOUND, _txt_values(answer.rrset))


@dataclass
class _Authority:
    """The zone's nameserver addresses, found once per check (authoritative mode)."""

    zone: str = ""
    addresses: list[str] = field(default_factory=list)
    problem: str = ""  # why we could not use them


def _find_authority(name: str, config: ResolverConfig, deadline: float) -> _Authority:
    resolver = _new_resolver(config, deadline)
    try:
        zone = dns.resolver.zone_for_name(name, resolver=resolver, lifetime=_lifetime(config, deadline))
    except (dns.exception.DNSException, OSError, ValueError) as error:
        return _Authority(problem=f"zone not found ({_error_reason(error)})")
    authority = _Authority(zone=zone.to_text(omit_final_dot=True))
    try:
        ns_answer = resolver.resolve(zone, "NS", search=False, lifetime=_lifetime(config, deadline))
    except (dns.exception.DNSException, OSError, ValueError) as error:
        authority.problem = f"no NS records for {authority.zone} ({_error_reason(error)})"
        return authority
    for ns in ns_answer:
        for rdtype in ("A", "AAAA"):
            if _remaining(deadline) <= 0:
                break
            try:
                addresses = resolver.resolve(
                    ns.target, rdtype, search=False, lifetime=_lifetime(config, deadline)
                )
            except (dns.exception.DNSException, OSError, ValueError):
                continue
            authority.addresses.extend(a.address for a in addresses if a.address not in authority.addresses)
    if not authority.addresses:
        authority.problem = f"the nameservers of {authority.zone} have no address"
    return authority


def _authoritative_txt(qname: str, authority: _Authority, config: ResolverConfig, deadline: float) -> _Lookup:
    """Ask the zone's nameservers directly, RD off; _ERROR if none of them gives an answer."""
    target = dns.name.from_text(qname)
    last_error = "no nameserver answered"
    for address in authority.addresses[:4]:
        if _remaining(deadline) <= 0:
            return _Lookup(_ERROR, error="timeout")
        query = dns.message.make_query(target, "TXT")
        query.flags &= ~dns.flags.RD
        try:
            response, _ = dns.query.udp_with_fallback(
                query, address, timeout=_lifetime(config, deadline), port=int(config.port)
            )
        except (dns.exception.DNSException, OSError, ValueError) as error:
            last_error = _error_reason(error)
            continue
        rcode = response.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            return _Lookup(_NXDOMAIN, via_authoritative=True)
        if rcode != dns.rcode.NOERROR:
            last_error = dns.rcode.to_text(rcode)
            continue
        # Follow a CNAME chain inside the answer; the final name's TXT records count.
        current = target
        for _ in range(10):
            cname = response.get_rrset(response.answer, current, dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None:
                break
            current = cname[0].target
        txt = response.get_rrset(response.answer, current, dns.rdataclass.IN, dns.rdatatype.TXT)
        if txt is not None:
            return _Lookup(_FOUND, _txt_values(txt), via_authoritative=True)
        if current != target:
            # The CNAME points elsewhere (maybe another zone): let the recursive resolver chase it.
            lookup = _recursive_txt(current.to_text(), config, deadline)
            return lookup
        return _Lookup(_NODATA, via_authoritative=True)
    return _Lookup(_ERROR, error=last_error)


class _DnsContext:
    def __init__(self, name: str, config: ResolverConfig, deadline: float):
        self.name = name
        self.config = config
        self.deadline = deadline
        self.authority: _Authority | None = None
        self.fell_back = ""  # why the authoritative servers were not used, if they were not

    def lookup(self, qname: str) -> _Lookup:
        try:
            return self._lookup(qname)
        except (dns.exception.DNSException, OSError, ValueError) as error:  # e.g. a name too long for DNS
            return _Lookup(_ERROR, error=_error_reason(error))

    def _lookup(self, qname: str) -> _Lookup:
        if self.config.authoritative:
            if self.authority is None:
                self.authority = _find_authority(self.name, self.config, self.deadline)
            if not self.authority.problem:
                result = _authoritative_txt(qname, self.authority, self.config, self.deadline)
                if result.status != _ERROR:
                    return result
                self.fell_back = self.fell_back or result.error
            else:
                self.fell_back = self.fell_back or self.authority.problem
        return _recursive_txt(qname, self.config, self.deadline)


_QUOTES = "\"'“”‘’«»„"


@dataclass
class _ValueMatch:
    exact: bool = False
    quoted: bool = False
    spaces: bool = False
    no_prefix: bool = False
    other_prefix: str = ""
    old_token: bool = False
    our_prefix: bool = False  # looks like one of ours (prefix present, perhaps another token)


def _examine(value: str, token: str, prefix: str, old_tokens: tuple[str, ...]) -> _ValueMatch:
    """How a TXT value relates to the expected `<prefix><token>` (prefix case ignored)."""
    match = _ValueMatch()
    stripped = value.strip()
    lowered_prefix = prefix.lower()
    if stripped.lower().startswith(lowered_prefix) and _tokens_equal(stripped[len(prefix) :], token):
        match.exact = match.our_prefix = True
        return match
    unquoted = stripped.strip(_QUOTES).strip()
    had_quotes = unquoted != stripped
    squeezed = re.sub(r"\s+", "", unquoted)
    if unquoted.lower().startswith(lowered_prefix):
        match.our_prefix = True
        rest = unquoted[len(prefix) :]
        if _tokens_equal(rest, token):  # only the quotes were wrong
            match.quoted = True
            return match
    if squeezed.lower().startswith(lowered_prefix):
        match.our_prefix = True
        rest = squeezed[len(prefix) :]
        if _tokens_equal(rest, token):
            match.spaces = True
            match.quoted = had_quotes
            return match
        if any(_tokens_equal(rest, old) for old in old_tokens):
            match.old_token = True
            return match
    bare_prefix = lowered_prefix.rstrip("=:")
    if bare_prefix and squeezed.lower().startswith(bare_prefix):
        match.our_prefix = True  # e.g. "twilio-domain-verification:<something>"
    if _tokens_equal(squeezed, token):
        match.no_prefix = True
        match.quoted = had_quotes
        return match
    if any(_tokens_equal(squeezed, old) for old in old_tokens):
        match.old_token = match.our_prefix = True
        return match
    # Another prefix (e.g. "google-site-verification=<token>") with our token after it.
    if token and len(squeezed) > len(token):
        head, tail = squeezed[: -len(token)], squeezed[-len(token) :]
        if head.endswith(("=", ":")) and _tokens_equal(tail, token):
            match.other_prefix = head
    return match


def _describe_values(values: list[str]) -> str:
    shown = [f"“{_shorten(v)}”" for v in values[:MAX_SHOWN_VALUES]]
    if len(values) > MAX_SHOWN_VALUES:
        shown.append("…")
    return ", ".join(shown)


def _value_diagnostics(
    qname: str, values: list[str], token: str, prefix: str, old_tokens: tuple[str, ...]
) -> tuple[list[Message], bool]:
    """Diagnostics for values at the right host; returns (messages, looks_like_ours)."""
    expected = f"{prefix}{token}"
    messages: list[Message] = []
    ours = False
    seen = set()
    for value in values:
        match = _examine(value, token, prefix, old_tokens)
        ours = ours or match.our_prefix or match.old_token or match.quoted or match.spaces or match.no_prefix
        if match.quoted and not match.spaces and "quoted" not in seen:
            seen.add("quoted")
            messages.append(
                _msg(
                    gettext_noop(
                        "The TXT record at %(host)s contains quotation marks as part of its value. "
                        "Remove the extra quotes: the value must be exactly %(expected)s."
                    ),
                    host=qname,
                    expected=expected,
                )
            )
        elif match.spaces and "spaces" not in seen:
            seen.add("spaces")
            if match.quoted:
                text = gettext_noop(
                    "The TXT record at %(host)s holds the token with extra spaces and quotation marks. "
                    "Remove them: the value must be exactly %(expected)s."
                )
            else:
                text = gettext_noop(
                    "The TXT record at %(host)s holds the token with extra spaces. "
                    "Remove them: the value must be exactly %(expected)s."
                )
            messages.append(_msg(text, host=qname, expected=expected))
        elif match.no_prefix and "no_prefix" not in seen:
            seen.add("no_prefix")
            messages.append(
                _msg(
                    gettext_noop(
                        "The TXT record at %(host)s holds the token without the prefix %(prefix)s. "
                        "Change the value to %(expected)s."
                    ),
                    host=qname,
                    prefix=prefix,
                    expected=expected,
                )
            )
        elif match.other_prefix and "other_prefix" not in seen:
            seen.add("other_prefix")
            messages.append(
                _msg(
                    gettext_noop(
                        "The TXT record at %(host)s holds the token after “%(found)s” instead of %(prefix)s. "
                        "Change the value to %(expected)s."
                    ),
                    host=qname,
                    found=_shorten(match.other_prefix, 40),
                    prefix=prefix,
                    expected=expected,
                )
            )
        elif match.old_token and "old_token" not in seen:
            seen.add("old_token")
            messages.append(
                _msg(
                    gettext_noop(
                        "The TXT record at %(host)s holds an older token of this domain, which no longer "
                        "counts. Replace it with %(expected)s."
                    ),
                    host=qname,
                    expected=expected,
                )
            )
    if ours and not messages:
        messages.append(
            _msg(
                gettext_noop(
                    "The TXT record at %(host)s holds a different verification token (perhaps from another "
                    "organization or an earlier attempt). Replace it with %(expected)s."
                ),
                host=qname,
                expected=expected,
            )
        )
    return messages, ours


def _holds_token(values: list[str], token: str, prefix: str, old_tokens=()) -> _ValueMatch | None:
    """The best match of our token among values found somewhere else (tolerant)."""
    for value in values:
        match = _examine(value, token, prefix, ())
        if match.exact or match.quoted or match.spaces or match.no_prefix or match.other_prefix:
            return match
    return None


def _misplacement_candidates(name: str, label: str, prefix: str) -> list[tuple[str, str, str]]:
    """(kind, name to look at, host to enter) for the places people put the record by mistake."""
    from domains.normalize import registrable_domain

    bare_label = label.lstrip("_")
    prefix_label = prefix.rstrip("=:").strip()
    candidates = [
        ("doubled", f"{label}.{name}.{name}", label),
        ("apex", name, label),
        ("other_label", f"{bare_label}.{name}", label) if bare_label and bare_label != label else None,
        ("other_label", f"_{prefix_label}.{name}", label) if prefix_label else None,
        ("other_label", f"{prefix_label}.{name}", label) if prefix_label else None,
        ("other_label", f"{label}.www.{name}", label),
        ("other_label", f"www.{name}", label),
    ]
    try:
        zone = registrable_domain(name)
    except Exception:  # noqa: BLE001  (diagnostics must never break a check)
        zone = None
    if zone and zone != name and name.endswith("." + zone):
        # The record was entered in the parent zone's DNS, whose provider appended the zone.
        relative = name[: -len(zone) - 1]
        candidates.insert(1, ("doubled", f"{label}.{name}.{zone}", f"{label}.{relative}"))
    result, seen = [], set()
    for item in candidates:
        if item and item[1] not in seen and len(item[1]) <= 253:
            seen.add(item[1])
            result.append(item)
    return result


def _misplacement_diagnostics(
    context: _DnsContext, name: str, token: str, label: str, prefix: str, old_tokens: tuple[str, ...]
) -> list[Message]:
    host = f"{label}.{name}"
    candidates = _misplacement_candidates(name, label, prefix)
    if _remaining(context.deadline) <= 0:
        return []
    if context.config.authoritative and context.authority is None:
        context.authority = _find_authority(name, context.config, context.deadline)
    with ThreadPoolExecutor(max_workers=len(candidates)) as pool:
        lookups = list(pool.map(lambda item: context.lookup(item[1]), candidates))
    messages = []
    for (kind, qname, enter_host), lookup in zip(candidates, lookups, strict=True):
        if lookup.status != _FOUND:
            continue
        found = _holds_token(lookup.values, token, prefix)
        found_old = not found and any(
            _examine(v, token, prefix, old_tokens).old_token for v in lookup.values if old_tokens
        )
        if not found and not found_old:
            continue
        if kind == "doubled":
            messages.append(
                _msg(
                    gettext_noop(
                        "We found the token at %(found_at)s: your DNS provider appends the domain to the host "
                        "name. Enter only %(label)s as the host (not the full name) so the record is at %(host)s."
                    ),
                    found_at=qname,
                    label=enter_host,
                    host=host,
                )
            )
        elif kind == "apex":
            messages.append(
                _msg(
                    gettext_noop(
                        "We found the token in a TXT record at %(found_at)s itself. Move it to the host "
                        "%(label)s, i.e. %(host)s."
                    ),
                    found_at=qname,
                    label=label,
                    host=host,
                )
            )
        else:
            messages.append(
                _msg(
                    gettext_noop(
                        "We found the token at %(found_at)s, which is the wrong host. Put the record at "
                        "%(host)s (host %(label)s)."
                    ),
                    found_at=qname,
                    label=label,
                    host=host,
                )
            )
        if found_old:
            messages[-1] = _msg(
                gettext_noop(
                    "We found an older token of this domain at %(found_at)s. It no longer counts: publish "
                    "%(expected)s at %(host)s."
                ),
                found_at=qname,
                expected=f"{prefix}{token}",
                host=host,
            )
    return messages


def check_dns_txt(name, token, *, resolver: ResolverConfig, label, prefix, deadline, old_tokens=()) -> CheckResult:
    """Look for `<prefix><token>` among the TXT records at `<label>.<name>`."""
    name = str(name).strip().rstrip(".").lower()
    old_tokens = tuple(t for t in old_tokens if t and t != token)
    host = f"{label}.{name}" if label else name
    context = _DnsContext(name, resolver, deadline)
    lookup = context.lookup(host)
    diagnostics: list[Message] = []

    def with_fallback_note(messages):
        if context.fell_back:
            messages.append(
                _msg(
                    gettext_noop(
                        "We could not ask the domain's own nameservers (%(reason)s), so this answer comes from "
                        "a recursive resolver and may be up to a few hours old."
                    ),
                    reason=context.fell_back,
                )
            )
        return tuple(messages)

    if lookup.status == _ERROR:
        if lookup.error == "timeout":
            detail = _msg(
                gettext_noop("The DNS lookup of %(host)s timed out. We will try again; nothing changes meanwhile."),
                host=host,
            )
        else:
            detail = _msg(
                gettext_noop(
                    "The DNS lookup of %(host)s failed (%(reason)s). We will try again; nothing changes meanwhile."
                ),
                host=host,
                reason=lookup.error,
            )
        return CheckResult(INCONCLUSIVE, detail, with_fallback_note(diagnostics))

    if lookup.status == _FOUND:
        for value in lookup.values:
            if _examine(value, token, prefix, ()).exact:
                return CheckResult(
                    VERIFIED,
                    _msg(gettext_noop("Found the verification TXT record at %(host)s."), host=host),
                    with_fallback_note(diagnostics),
                )

    if lookup.status == _FOUND:
        value_messages, ours = _value_diagnostics(host, lookup.values, token, prefix, old_tokens)
        diagnostics.extend(value_messages)
        outcome = MISMATCH if ours else NOT_FOUND
        detail = _msg(
            gettext_noop(
                "Found %(count)s TXT record(s) at %(host)s but none holds the token. Seen: %(values)s."
            ),
            count=len(lookup.values),
            host=host,
            values=_describe_values(lookup.values),
        )
    elif lookup.status == _NODATA:
        outcome = NOT_FOUND
        detail = _msg(gettext_noop("%(host)s exists but has no TXT record."), host=host)
    else:
        outcome = NOT_FOUND
        detail = _msg(gettext_noop("There is no DNS record at %(host)s (NXDOMAIN)."), host=host)

    diagnostics.extend(_misplacement_diagnostics(context, name, token, label, prefix, old_tokens))
    if outcome == NOT_FOUND and not diagnostics:
        diagnostics.append(
            _msg(
                gettext_noop(
                    "Add a TXT record at host %(label)s with the value %(expected)s. New records can take "
                    "up to 72 hours to be visible everywhere."
                ),
                label=label,
                expected=f"{prefix}{token}",
            )
        )
    return CheckResult(outcome, detail, with_fallback_note(diagnostics))


# ============================================================================================
# HTTPS
# ============================================================================================

_TOKEN_WORD_RE = re.compile(rb"[A-Za-z0-9_\-]{16,128}")


class _PinnedAddressAdapter(HTTPAdapter):
    """Connects to the URL's IP address but sends SNI and checks the certificate for `hostname`."""

    def __init__(self, hostname: str):
        self._hostname = hostname
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=0)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        pool_kwargs["server_hostname"] = self._hostname
        pool_kwargs["assert_hostname"] = self._hostname
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)


class _Stop(Exception):
    """Ends the fetch with a result."""

    def __init__(self, result_outcome: str, detail: Message, diagnostics=()):
        super().__init__(detail.english())
        self.outcome = result_outcome
        self.detail = detail
        self.diagnostics = list(diagnostics)


def _resolve_addresses(host: str, config: ResolverConfig, deadline: float) -> list[str]:
    """All A then AAAA addresses of host through the configured resolver; raises _Stop."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        return [str(literal)]
    addresses: list[str] = []
    nxdomain = 0
    errors = []
    for rdtype in ("A", "AAAA"):
        if _remaining(deadline) <= 0:
            errors.append("timeout")
            break
        resolver = _new_resolver(config, deadline)
        try:
            answer = resolver.resolve(host, rdtype, search=False, lifetime=_lifetime(config, deadline))
        except dns.resolver.NXDOMAIN:
            nxdomain += 1
            continue
        except dns.resolver.NoAnswer:
            continue
        except (dns.exception.DNSException, OSError, ValueError) as error:
            errors.append(_error_reason(error))
            continue
        addresses.extend(rdata.address for rdata in answer)
    if errors and not addresses:
        raise _Stop(
            INCONCLUSIVE,
            _msg(
                gettext_noop("Looking up the address of %(host)s failed (%(reason)s). We will try again."),
                host=host,
                reason=errors[0],
            ),
        )
    if not addresses:
        if nxdomain:
            raise _Stop(NOT_FOUND, _msg(gettext_noop("The name %(host)s does not exist in DNS (NXDOMAIN)."), host=host))
        raise _Stop(NOT_FOUND, _msg(gettext_noop("The name %(host)s has no IPv4 or IPv6 address."), host=host))
    if errors:
        # One family answered, the other failed: we cannot vouch for every address.
        raise _Stop(
            INCONCLUSIVE,
            _msg(
                gettext_noop("Looking up the address of %(host)s failed (%(reason)s). We will try again."),
                host=host,
                reason=errors[0],
            ),
        )
    return addresses


def _check_addresses(host: str, addresses: list[str], allow_loopback: bool) -> None:
    for address in addresses:
        reason = is_forbidden_address(address, allow_loopback=allow_loopback)
        if reason:
            raise _Stop(
                NOT_FOUND,
                _msg(
                    gettext_noop(
                        "%(host)s resolves to %(address)s, a special-purpose address (%(reason)s). We only fetch "
                        "the file from public Internet addresses, so we did not connect."
                    ),
                    host=host,
                    address=address,
                    reason=reason,
                ),
            )


def _certificate_problem(error: Exception) -> str | None:
    text = str(error)
    match = re.search(r"certificate verify failed: ([^(')\"]+)", text)
    if match:
        return match.group(1).strip()[:120]
    if "doesn't match" in text or "hostname" in text.lower() and "match" in text.lower():
        return "the certificate is for another name"
    return None


def _fetch_once(url_host, port, path, addresses, *, ca_bundle, connect_timeout, deadline, max_bytes):
    """GET https://url_host:port/path from one of `addresses`; returns (status, location, body)."""
    last_error: Exception | None = None
    host_header = url_host if port == 443 else f"{url_host}:{port}"
    for address in addresses:
        remaining = _remaining(deadline)
        if remaining <= 0:
            break
        ip = ipaddress.ip_address(address)
        netloc = f"[{ip}]" if ip.version == 6 else str(ip)
        session = requests.Session()
        session.trust_env = False  # no proxies from the environment: we connect to the checked address
        session.mount("https://", _PinnedAddressAdapter(url_host))
        try:
            response = session.get(
                f"https://{netloc}:{port}{path}",
                headers={
                    "Host": host_header,
                    "User-Agent": USER_AGENT,
                    "Accept": "text/html, text/plain;q=0.9, */*;q=0.1",
                    "Accept-Encoding": "identity",
                },
                timeout=(max(0.05, min(connect_timeout, remaining)), max(0.05, min(connect_timeout, remaining))),
                allow_redirects=False,
                stream=True,
                verify=ca_bundle or True,
            )
            try:
                body = b""
                if response.status_code == 200:
                    for chunk in response.iter_content(chunk_size=1024):
                        body += chunk
                        if len(body) >= max_bytes or _remaining(deadline) <= 0:
                            break
                    body = body[:max_bytes]
                return response.status_code, response.headers.get("Location"), body
            finally:
                response.close()
        except requests.exceptions.SSLError as error:
            problem = _certificate_problem(error)
            if problem:
                # An untrusted certificate is a configuration error the admin must fix, not a
                # passing network hiccup: treat it as definitive (not_found) and say what to fix.
                raise _Stop(
                    NOT_FOUND,
                    _msg(
                        gettext_noop("The HTTPS certificate of %(host)s is not trusted (%(problem)s)."),
                        host=url_host,
                        problem=problem,
                    ),
                    [
                        _msg(
                            gettext_noop(
                                "Install a valid certificate for %(host)s issued by a public certificate "
                                "authority (e.g. Let's Encrypt) that covers this exact name."
                            ),
                            host=url_host,
                        )
                    ],
                ) from None
            text = str(error).lower()
            if "wrong version number" in text or "record layer" in text or "http request" in text:
                raise _Stop(
                    NOT_FOUND,
                    _msg(
                        gettext_noop("The server of %(host)s does not speak HTTPS on port %(port)s."),
                        host=url_host,
                        port=port,
                    ),
                    [
                        _msg(
                            gettext_noop(
                                "The file must be served over HTTPS. Enable HTTPS on %(host)s (port %(port)s); "
                                "a file served over plain HTTP does not count."
                            ),
                            host=url_host,
                            port=port,
                        )
                    ],
                ) from None
            last_error = error
        except (requests.exceptions.RequestException, OSError, ValueError) as error:
            # Connection refused/reset, timeouts, broken chunked bodies: try the next address.
            last_error = error
        finally:
            session.close()
    if isinstance(last_error, requests.exceptions.Timeout) or last_error is None:
        detail = _msg(gettext_noop("Fetching the file from %(host)s timed out. We will try again."), host=url_host)
    else:
        detail = _msg(
            gettext_noop("We could not connect to %(host)s on port %(port)s. We will try again."),
            host=url_host,
            port=port,
        )
    raise _Stop(INCONCLUSIVE, detail)


def _body_verdict(body: bytes, token: str, prefix: str, old_tokens: tuple[str, ...]) -> tuple[str, list[Message]]:
    """VERIFIED, or MISMATCH with diagnostics; never shows any part of the body."""
    candidates = [word.decode("ascii", "replace") for word in _TOKEN_WORD_RE.findall(body)]
    lowered_prefix = prefix.lower().encode()
    prefixed = []
    if lowered_prefix:
        for match in re.finditer(re.escape(lowered_prefix) + rb"\s*([A-Za-z0-9_\-]{1,128})", body.lower()):
            start = match.start(1)
            prefixed.append(body[start : match.end(1)].decode("ascii", "replace"))
    found = False
    for candidate in prefixed + candidates:
        found = _tokens_equal(candidate, token) or found
    if found:
        return VERIFIED, []
    diagnostics = []
    if any(_tokens_equal(c, old) for c in prefixed + candidates for old in old_tokens):
        diagnostics.append(
            _msg(
                gettext_noop(
                    "The file holds an older token of this domain, which no longer counts. Download the HTML "
                    "file again and replace the one on your site."
                )
            )
        )
    elif prefixed:
        diagnostics.append(
            _msg(
                gettext_noop(
                    "The file holds a different verification token (perhaps from another organization or an "
                    "earlier attempt). Download the HTML file again and replace the one on your site."
                )
            )
        )
    else:
        diagnostics.append(
            _msg(
                gettext_noop(
                    "The page at this address does not hold the token. Upload the downloaded HTML file "
                    "unchanged; make sure the address does not serve another page instead."
                )
            )
        )
    return MISMATCH, diagnostics


def check_https_file(
    name,
    token,
    *,
    resolver: ResolverConfig,
    port,
    filename,
    ca_bundle,
    allow_loopback,
    connect_timeout,
    max_bytes,
    deadline,
    old_tokens=(),
    prefix="twilio-domain-verification=",
) -> CheckResult:
    """Fetch https://<name>/<filename> safely and look for the token in its first max_bytes."""
    name = str(name).strip().rstrip(".").lower()
    port = int(port)
    old_tokens = tuple(t for t in old_tokens if t and t != token)
    start_url = f"https://{name}/{filename.lstrip('/')}" if port == 443 else f"https://{name}:{port}/{filename.lstrip('/')}"
    url_host, url_port, path = name, port, "/" + filename.lstrip("/")
    visited: set[tuple[str, int, str]] = set()
    redirected_to_hosts: list[str] = []
    diagnostics: list[Message] = []
    try:
        for hop in range(MAX_REDIRECTS + 1):
            visited.add((url_host, url_port, path))
            addresses = _resolve_addresses(url_host, resolver, deadline)
            _check_addresses(url_host, addresses, allow_loopback)
            status, location, body = _fetch_once(
                url_host,
                url_port,
                path,
                addresses,
                ca_bundle=ca_bundle,
                connect_timeout=float(connect_timeout),
                deadline=deadline,
                max_bytes=int(max_bytes),
            )
            if status in REDIRECT_STATUSES:
                if hop == MAX_REDIRECTS:
                    raise _Stop(
                        NOT_FOUND,
                        _msg(
                            gettext_noop("%(url)s redirects more than %(max)s times; we stopped following."),
                            url=start_url,
                            max=MAX_REDIRECTS,
                        ),
                        [
                            _msg(
                                gettext_noop("Serve the file directly at %(url)s, with at most a few redirects."),
                                url=start_url,
                            )
                        ],
                    )
                if not location:
                    raise _Stop(
                        NOT_FOUND,
                        _msg(gettext_noop("%(host)s answered a redirect without a target."), host=url_host),
                    )
                base = f"https://{url_host}:{url_port}{path}"
                target = urljoin(base, location.strip())
                parts = urlsplit(target)
                scheme = (parts.scheme or "").lower()
                if scheme != "https":
                    raise _Stop(
                        NOT_FOUND,
                        _msg(
                            gettext_noop("%(url)s redirects to a non-HTTPS address (%(scheme)s)."),
                            url=start_url,
                            scheme=scheme or "?",
                        ),
                        [
                            _msg(
                                gettext_noop(
                                    "The file redirects to %(scheme)s; it must be served over https. Remove the "
                                    "redirect to http or serve the file at %(url)s."
                                ),
                                scheme=scheme or "?",
                                url=start_url,
                            )
                        ],
                    )
                try:
                    next_host = (parts.hostname or "").lower().rstrip(".")
                    next_port = parts.port or port
                except ValueError:
                    next_host, next_port = "", port
                if not next_host:
                    raise _Stop(
                        NOT_FOUND,
                        _msg(gettext_noop("%(host)s redirects to an address we cannot read."), host=url_host),
                    )
                next_path = parts.path or "/"
                if parts.query:
                    next_path += "?" + parts.query
                if (next_host, next_port, next_path) in visited:
                    raise _Stop(
                        NOT_FOUND,
                        _msg(gettext_noop("%(url)s redirects in a loop."), url=start_url),
                        [
                            _msg(
                                gettext_noop("Fix the redirect loop so that %(url)s serves the file."),
                                url=start_url,
                            )
                        ],
                    )
                if next_host != name and next_host not in redirected_to_hosts:
                    redirected_to_hosts.append(next_host)
                url_host, url_port, path = next_host, next_port, next_path
                continue
            if status == 200:
                outcome, body_diagnostics = _body_verdict(body, token, prefix, old_tokens)
                del body  # never kept, never shown
                if outcome == VERIFIED:
                    return CheckResult(
                        VERIFIED, _msg(gettext_noop("Found the token in the file at %(url)s."), url=start_url)
                    )
                diagnostics.extend(body_diagnostics)
                raise _Stop(
                    MISMATCH,
                    _msg(
                        gettext_noop(
                            "The file at %(url)s was found but does not hold the token (we read at most "
                            "%(max_bytes)s bytes)."
                        ),
                        url=start_url,
                        max_bytes=max_bytes,
                    ),
                )
            if status in (404, 410):
                raise _Stop(
                    NOT_FOUND,
                    _msg(gettext_noop("The file was not found at %(url)s (HTTP %(status)s)."), url=start_url, status=status),
                    [
                        _msg(
                            gettext_noop(
                                "Upload the downloaded HTML file to the root of the site so that it is served at "
                                "%(url)s."
                            ),
                            url=start_url,
                        )
                    ],
                )
            if status >= 500 or status in (408, 429):
                raise _Stop(
                    INCONCLUSIVE,
                    _msg(
                        gettext_noop("%(host)s answered HTTP %(status)s (a server problem). We will try again."),
                        host=url_host,
                        status=status,
                    ),
                )
            raise _Stop(
                NOT_FOUND,
                _msg(
                    gettext_noop("%(host)s answered HTTP %(status)s instead of serving the file."),
                    host=url_host,
                    status=status,
                ),
                [
                    _msg(
                        gettext_noop("Make %(url)s publicly readable, without a login or a block."),
                        url=start_url,
                    )
                ],
            )
    except _Stop as stop:
        diagnostics.extend(stop.diagnostics)
        if redirected_to_hosts and stop.outcome != INCONCLUSIVE:
            diagnostics.append(
                _msg(
                    gettext_noop(
                        "%(url)s redirects to another host, %(hosts)s. Serve the file at %(url)s itself, "
                        "without redirecting to another host."
                    ),
                    url=start_url,
                    hosts=", ".join(redirected_to_hosts[:3]),
                )
            )
        return CheckResult(stop.outcome, stop.detail, tuple(diagnostics))
    raise AssertionError("unreachable")  # pragma: no cover
