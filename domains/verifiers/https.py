"""The HTML-file check: fetch https://<name>/<filename> safely and look for the token.

We do not use `requests-hardened` (saleor). It resolves names with the system resolver
(socket.getaddrinfo), so it cannot use our configurable dnspython resolver, and its filter is
built on the `ipaddress` module's private/loopback flags, which miss IPv4 hidden in NAT64 and
6to4 addresses. Instead we resolve A and AAAA ourselves, refuse the whole check if any address
is special-purpose (netsafety.py), and connect (transport.py) to the very address we checked,
with SNI, certificate name and Host header set to the domain (no DNS rebinding window), under a
watchdog that ends the whole fetch at the check's deadline. Redirects are followed by hand (at
most 10, 301/302/303/307/308, https only, each hop re-resolved and re-checked, loops detected);
interim 1xx answers are skipped; at most `max_bytes` of the body are read, and the body never
appears in any message.

HTTP 404/410, a body without the token, a forbidden address, an http-only redirect and an
untrusted certificate or outdated TLS are definitive (not_found / mismatch); timeouts, the
deadline, connection errors, truncated bodies, an unreadable CA bundle and 5xx are inconclusive.
"""

import ipaddress
import re
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import dns.exception
import dns.resolver
import urllib3

from console.messages import Message, gettext_noop
from domains.verifiers.diagnostics import tokens_equal
from domains.verifiers.dns import error_reason, lifetime, new_resolver
from domains.verifiers.netsafety import is_forbidden_address
from domains.verifiers.results import CheckResult, Outcome, ResolverConfig, msg, remaining
from domains.verifiers.transport import Answer, Request, Watchdog, get, tls_context

MAX_REDIRECTS = 10
REDIRECT_STATUSES = (301, 302, 303, 307, 308)  # what browsers and HTTP clients follow

_TOKEN_WORD_RE = re.compile(rb"[A-Za-z0-9_\-]{16,128}")


class _Stop(Exception):
    """Ends the fetch with a result."""

    def __init__(self, result_outcome: Outcome, detail: Message, diagnostics=()):
        super().__init__(detail.english())
        self.outcome = result_outcome
        self.detail = detail
        self.diagnostics = list(diagnostics)


@dataclass(frozen=True)
class _Target:
    host: str
    port: int
    path: str


@dataclass
class _Fetch:
    """One check's fixed inputs and what it has seen so far."""

    name: str
    port: int  # the configured port, also for redirects that name none
    token: str
    prefix: str
    old_tokens: tuple[str, ...]
    resolver: ResolverConfig
    allow_loopback: bool
    connect_timeout: float
    max_bytes: int
    deadline: float
    start_url: str
    tls_context: ssl.SSLContext
    watchdog: Watchdog
    visited: set[_Target] = field(default_factory=set)
    redirected_to_hosts: list[str] = field(default_factory=list)
    method: str = "GET"
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()


# --- addresses -----------------------------------------------------------------------------------


def _lookup_failed(host: str, reason: str) -> _Stop:
    return _Stop(
        Outcome.INCONCLUSIVE,
        msg(
            gettext_noop("Looking up the address of %(host)s failed (%(reason)s). We will try again."),
            host=host,
            reason=reason,
        ),
    )


def _resolve_addresses(host: str, config: ResolverConfig, deadline: float) -> list[str]:
    """All A then AAAA addresses of host through the configured resolver; raises _Stop."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    addresses: list[str] = []
    nxdomain = 0
    errors = []
    for rdtype in ("A", "AAAA"):
        if remaining(deadline) <= 0:
            errors.append("timeout")
            break
        resolver = new_resolver(config, deadline)
        try:
            answer = resolver.resolve(host, rdtype, search=False, lifetime=lifetime(config, deadline))
        except dns.resolver.NXDOMAIN:
            nxdomain += 1
            continue
        except dns.resolver.NoAnswer:
            continue
        except (dns.exception.DNSException, OSError, ValueError) as error:
            errors.append(error_reason(error))
            continue
        addresses.extend(rdata.address for rdata in answer)
    if errors:
        # Even when one family answered, we cannot vouch for every address.
        raise _lookup_failed(host, errors[0])
    if not addresses:
        if nxdomain:
            raise _Stop(
                Outcome.NOT_FOUND, msg(gettext_noop("The name %(host)s does not exist in DNS (NXDOMAIN)."), host=host)
            )
        raise _Stop(Outcome.NOT_FOUND, msg(gettext_noop("The name %(host)s has no IPv4 or IPv6 address."), host=host))
    return addresses


def first_forbidden(addresses: list[str], allow_loopback: bool) -> tuple[str, str] | None:
    """(address, reason) of the first address that must not be contacted, or None."""
    for address in addresses:
        reason = is_forbidden_address(address, allow_loopback=allow_loopback)
        if reason:
            return address, reason
    return None


def _check_addresses(host: str, addresses: list[str], allow_loopback: bool) -> None:
    forbidden = first_forbidden(addresses, allow_loopback)
    if forbidden:
        address, reason = forbidden
        raise _Stop(
            Outcome.NOT_FOUND,
            msg(
                gettext_noop(
                    "%(host)s resolves to %(address)s, a special-purpose address (%(reason)s). We only fetch "
                    "the file from public Internet addresses, so we did not connect."
                ),
                host=host,
                address=address,
                reason=reason,
            ),
        )


# --- one request -----------------------------------------------------------------------------------


def _certificate_problem(error: Exception) -> str | None:
    text = str(error)
    match = re.search(r"certificate verify failed: ([^(')\"]+)", text)
    if match:
        return match.group(1).strip()[:120]
    if "doesn't match" in text or "hostname" in text.lower() and "match" in text.lower():
        return "the certificate is for another name"
    return None


_OLD_TLS_SIGNS = ("unsupported protocol", "protocol version", "no protocols available", "version too low")
_NOT_TLS_SIGNS = ("wrong version number", "record layer", "http request")


def _untrusted_certificate(host: str, problem: str) -> _Stop:
    # An untrusted certificate is a configuration error the admin must fix, not a passing
    # network hiccup: treat it as definitive (not_found) and say what to fix.
    return _Stop(
        Outcome.NOT_FOUND,
        msg(gettext_noop("The HTTPS certificate of %(host)s is not trusted (%(problem)s)."), host=host, problem=problem),
        [
            msg(
                gettext_noop(
                    "Install a valid certificate for %(host)s issued by a public certificate "
                    "authority (e.g. Let's Encrypt) that covers this exact name."
                ),
                host=host,
            )
        ],
    )


def _tls_failure(error: Exception, host: str, port: int) -> _Stop | None:
    """A definitive result for a TLS error the admin must fix, or None for a passing one."""
    problem = _certificate_problem(error)
    if problem:
        return _untrusted_certificate(host, problem)
    text = str(error).lower()
    if any(sign in text for sign in _OLD_TLS_SIGNS):
        return _Stop(
            Outcome.NOT_FOUND,
            msg(gettext_noop("The server of %(host)s offers only an outdated TLS version."), host=host),
            [
                msg(
                    gettext_noop(
                        "Enable TLS 1.2 or TLS 1.3 on %(host)s (port %(port)s). Older TLS versions are no longer "
                        "safe, so we do not use them."
                    ),
                    host=host,
                    port=port,
                )
            ],
        )
    if any(sign in text for sign in _NOT_TLS_SIGNS):
        return _Stop(
            Outcome.NOT_FOUND,
            msg(gettext_noop("The server of %(host)s does not speak HTTPS on port %(port)s."), host=host, port=port),
            [
                msg(
                    gettext_noop(
                        "The file must be served over HTTPS. Enable HTTPS on %(host)s (port %(port)s); "
                        "a file served over plain HTTP does not count."
                    ),
                    host=host,
                    port=port,
                )
            ],
        )
    return None


def _past_deadline(host: str) -> _Stop:
    return _Stop(
        Outcome.INCONCLUSIVE,
        msg(
            gettext_noop(
                "Fetching the file from %(host)s did not finish within the time a check may take (the server "
                "answers too slowly), so we stopped. We will try again."
            ),
            host=host,
        ),
    )


def _unreachable(last_error: Exception | None, host: str, port: int) -> _Stop:
    # NewConnectionError (refused, unreachable) subclasses ConnectTimeoutError for history's sake.
    timed_out = isinstance(last_error, urllib3.exceptions.TimeoutError) and not isinstance(
        last_error, urllib3.exceptions.NewConnectionError
    )
    if timed_out or last_error is None:
        detail = msg(gettext_noop("Fetching the file from %(host)s timed out. We will try again."), host=host)
    else:
        detail = msg(
            gettext_noop("We could not connect to %(host)s on port %(port)s. We will try again."), host=host, port=port
        )
    return _Stop(Outcome.INCONCLUSIVE, detail)


def _truncated(host: str, received: int) -> _Stop:
    return _Stop(
        Outcome.INCONCLUSIVE,
        msg(
            gettext_noop(
                "The connection to %(host)s closed before the whole file arrived (we received %(received)s bytes). "
                "We will try again."
            ),
            host=host,
            received=received,
        ),
    )


def _fetch_once(target: _Target, addresses: list[str], fetch: _Fetch) -> Answer:
    """Send the fetch's request (a GET unless it says otherwise) to the first address that answers."""
    last_error: Exception | None = None
    for address in addresses:
        if remaining(fetch.deadline) <= 0:
            break
        request = Request(
            host=target.host,
            port=target.port,
            path=target.path,
            address=address,
            tls_context=fetch.tls_context,
            watchdog=fetch.watchdog,
            connect_timeout=fetch.connect_timeout,
            deadline=fetch.deadline,
            max_bytes=fetch.max_bytes,
            method=fetch.method,
            body=fetch.body,
            headers=fetch.headers,
        )
        try:
            answer = get(request)
            if not fetch.watchdog.fired:  # else the answer was cut short and means nothing
                return answer
        except urllib3.exceptions.SSLError as error:
            stop = None if fetch.watchdog.fired else _tls_failure(error, target.host, target.port)
            if stop:
                raise stop from None
            last_error = error
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as error:
            # Connection refused/reset, timeouts, broken answers: try the next address.
            last_error = error
        if fetch.watchdog.fired:
            break
    if fetch.watchdog.fired or remaining(fetch.deadline) <= 0:
        raise _past_deadline(target.host)
    raise _unreachable(last_error, target.host, target.port)


# --- what an answer means ------------------------------------------------------------------------


def _body_verdict(body: bytes, token: str, prefix: str, old_tokens: tuple[str, ...]) -> tuple[Outcome, list[Message]]:
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
        found = tokens_equal(candidate, token) or found  # every candidate compared: constant work
    if found:
        return Outcome.VERIFIED, []
    if any(tokens_equal(c, old) for c in prefixed + candidates for old in old_tokens):
        text = gettext_noop(
            "The file holds an older token of this domain, which no longer counts. Download the HTML "
            "file again and replace the one on your site."
        )
    elif prefixed:
        text = gettext_noop(
            "The file holds a different verification token (perhaps from another organization or an "
            "earlier attempt). Download the HTML file again and replace the one on your site."
        )
    else:
        text = gettext_noop(
            "The page at this address does not hold the token. Upload the downloaded HTML file "
            "unchanged; make sure the address does not serve another page instead."
        )
    return Outcome.MISMATCH, [msg(text)]


def _file_found(answer: Answer, target: _Target, fetch: _Fetch) -> CheckResult:
    outcome, body_diagnostics = _body_verdict(answer.body, fetch.token, fetch.prefix, fetch.old_tokens)
    if outcome == Outcome.VERIFIED:
        return CheckResult(
            Outcome.VERIFIED, msg(gettext_noop("Found the token in the file at %(url)s."), url=fetch.start_url)
        )
    if answer.truncated:
        raise _truncated(target.host, len(answer.body))
    raise _Stop(
        Outcome.MISMATCH,
        msg(
            gettext_noop(
                "The file at %(url)s was found but does not hold the token (we read at most %(max_bytes)s bytes)."
            ),
            url=fetch.start_url,
            max_bytes=fetch.max_bytes,
        ),
        body_diagnostics,
    )


def _status_failure(status: int, target: _Target, fetch: _Fetch) -> _Stop:
    """What an answer other than 200 or a redirect means."""
    url = fetch.start_url
    if status in (404, 410):
        return _Stop(
            Outcome.NOT_FOUND,
            msg(gettext_noop("The file was not found at %(url)s (HTTP %(status)s)."), url=url, status=status),
            [
                msg(
                    gettext_noop(
                        "Upload the downloaded HTML file to the root of the site so that it is served at %(url)s."
                    ),
                    url=url,
                )
            ],
        )
    if status >= 500 or status in (408, 429):
        return _Stop(
            Outcome.INCONCLUSIVE,
            msg(
                gettext_noop("%(host)s answered HTTP %(status)s (a server problem). We will try again."),
                host=target.host,
                status=status,
            ),
        )
    return _Stop(
        Outcome.NOT_FOUND,
        msg(gettext_noop("%(host)s answered HTTP %(status)s instead of serving the file."), host=target.host, status=status),
        [msg(gettext_noop("Make %(url)s publicly readable, without a login or a block."), url=url)],
    )


# --- redirects ----------------------------------------------------------------------------------------


def _redirect_scheme_refused(scheme: str, url: str) -> _Stop:
    return _Stop(
        Outcome.NOT_FOUND,
        msg(gettext_noop("%(url)s redirects to a non-HTTPS address (%(scheme)s)."), url=url, scheme=scheme or "?"),
        [
            msg(
                gettext_noop(
                    "The file redirects to %(scheme)s; it must be served over https. Remove the "
                    "redirect to http or serve the file at %(url)s."
                ),
                scheme=scheme or "?",
                url=url,
            )
        ],
    )


def _redirect_target(target: _Target, location: str | None, hop: int, fetch: _Fetch) -> _Target:
    """Where a redirect leads, or _Stop when it must not be followed."""
    url = fetch.start_url
    if hop == MAX_REDIRECTS:
        raise _Stop(
            Outcome.NOT_FOUND,
            msg(gettext_noop("%(url)s redirects more than %(max)s times; we stopped following."), url=url, max=MAX_REDIRECTS),
            [msg(gettext_noop("Serve the file directly at %(url)s, with at most a few redirects."), url=url)],
        )
    if not location:
        raise _Stop(Outcome.NOT_FOUND, msg(gettext_noop("%(host)s answered a redirect without a target."), host=target.host))
    parts = urlsplit(urljoin(f"https://{target.host}:{target.port}{target.path}", location.strip()))
    scheme = (parts.scheme or "").lower()
    if scheme != "https":
        raise _redirect_scheme_refused(scheme, url)
    try:
        next_host = (parts.hostname or "").lower().rstrip(".")
        next_port = parts.port or fetch.port
    except ValueError:
        next_host, next_port = "", fetch.port
    if not next_host:
        raise _Stop(Outcome.NOT_FOUND, msg(gettext_noop("%(host)s redirects to an address we cannot read."), host=target.host))
    next_target = _Target(next_host, next_port, (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
    if next_target in fetch.visited:
        raise _Stop(
            Outcome.NOT_FOUND,
            msg(gettext_noop("%(url)s redirects in a loop."), url=url),
            [msg(gettext_noop("Fix the redirect loop so that %(url)s serves the file."), url=url)],
        )
    if next_host != fetch.name and next_host not in fetch.redirected_to_hosts:
        fetch.redirected_to_hosts.append(next_host)
    return next_target


def _follow(target: _Target, fetch: _Fetch) -> CheckResult:
    """Fetch the target, following redirects; returns VERIFIED or raises _Stop."""
    for hop in range(MAX_REDIRECTS + 1):
        fetch.visited.add(target)
        addresses = _resolve_addresses(target.host, fetch.resolver, fetch.deadline)
        _check_addresses(target.host, addresses, fetch.allow_loopback)
        answer = _fetch_once(target, addresses, fetch)
        if answer.status in REDIRECT_STATUSES:
            target = _redirect_target(target, answer.location, hop, fetch)
            continue
        if answer.status == 200:
            return _file_found(answer, target, fetch)
        raise _status_failure(answer.status, target, fetch)
    raise AssertionError("unreachable")  # pragma: no cover  (the last hop raises in _redirect_target)


def _stopped(stop: _Stop, fetch: _Fetch) -> CheckResult:
    diagnostics = list(stop.diagnostics)
    if fetch.redirected_to_hosts and stop.outcome != Outcome.INCONCLUSIVE:
        diagnostics.append(
            msg(
                gettext_noop(
                    "%(url)s redirects to another host, %(hosts)s. Serve the file at %(url)s itself, "
                    "without redirecting to another host."
                ),
                url=fetch.start_url,
                hosts=", ".join(fetch.redirected_to_hosts[:3]),
            )
        )
    return CheckResult(stop.outcome, stop.detail, tuple(diagnostics))


def _unreadable_ca_bundle(error: Exception) -> CheckResult:
    return CheckResult(
        Outcome.INCONCLUSIVE,
        msg(
            gettext_noop(
                "We could not load the list of certificate authorities we trust (%(problem)s), so we did not "
                "fetch the file. This is a problem on our side; we will try again."
            ),
            problem=(getattr(error, "strerror", None) or str(error) or type(error).__name__)[:120],
        ),
    )


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
    prefix,
    old_tokens=(),
) -> CheckResult:
    """Fetch https://<name>/<filename> safely and look for the token in its first max_bytes."""
    name = str(name).strip().rstrip(".").lower()
    port = int(port)
    path = "/" + filename.lstrip("/")
    try:
        context = tls_context(ca_bundle)
    except (OSError, ssl.SSLError) as error:
        return _unreadable_ca_bundle(error)
    watchdog = Watchdog(deadline)
    fetch = _Fetch(
        name=name,
        port=port,
        token=token,
        prefix=prefix,
        old_tokens=tuple(t for t in old_tokens if t and t != token),
        resolver=resolver,
        allow_loopback=allow_loopback,
        connect_timeout=float(connect_timeout),
        max_bytes=int(max_bytes),
        deadline=deadline,
        start_url=f"https://{name}{path}" if port == 443 else f"https://{name}:{port}{path}",
        tls_context=context,
        watchdog=watchdog,
    )
    try:
        return _follow(_Target(name, port, path), fetch)
    except _Stop as stop:
        return _stopped(stop, fetch)
    finally:
        watchdog.close()


# --- POSTs to an address an admin entered (webhook deliveries) ------------------------------------


@dataclass(frozen=True)
class Posted:
    """What a POST came to: the HTTP status, or None with `error` (a Message, never the body)."""

    status: int | None
    error: Message | None = None
    duration_ms: int = 0


def _refused_address(host: str, address: str, reason: str) -> Message:
    return msg(
        gettext_noop(
            "%(host)s resolves to %(address)s, a special-purpose address (%(reason)s). We only send to public "
            "Internet addresses, so we did not connect."
        ),
        host=host,
        address=address,
        reason=reason,
    )


class AddressRefused(Exception):
    """A host that may not be contacted. `detail` says why; `forbidden` is (address, reason)
    when it resolves to a special-purpose address, None when it does not resolve."""

    def __init__(self, detail: Message, forbidden: tuple[str, str] | None = None):
        super().__init__(detail.english())
        self.detail = detail
        self.forbidden = forbidden


def contactable_addresses(host: str, *, resolver: ResolverConfig, allow_loopback: bool, deadline: float) -> list[str]:
    """Every address of `host` (A then AAAA, or the literal itself) when each may be contacted;
    AddressRefused otherwise. Connect only to these: resolving again reopens the rebinding window."""
    try:
        addresses = _resolve_addresses(host, resolver, deadline)
    except _Stop as stop:
        raise AddressRefused(stop.detail) from None
    forbidden = first_forbidden(addresses, allow_loopback)
    if forbidden:
        raise AddressRefused(_refused_address(host, *forbidden), forbidden)
    return addresses


def vet_host(host: str, *, resolver: ResolverConfig, allow_loopback: bool, deadline: float) -> Message | None:
    """Why `host` may not be contacted (it does not resolve, or an address is special-purpose),
    or None. The same resolution and rules as the file check, for a form to refuse an address."""
    try:
        contactable_addresses(host, resolver=resolver, allow_loopback=allow_loopback, deadline=deadline)
    except AddressRefused as refused:
        return refused.detail
    return None


def post(
    url: str,
    body: bytes,
    *,
    headers: dict,
    resolver: ResolverConfig,
    ca_bundle,
    allow_loopback: bool,
    connect_timeout: float,
    max_bytes: int,
    deadline: float,
) -> Posted:
    """POST `body` to an https URL under the file check's rules: every address resolved and
    vetted, the connection pinned to a vetted address (SNI and Host the URL's name), TLS
    verified, redirects not followed, at most `max_bytes` read, all within `deadline`."""
    started = time.monotonic()

    def done(status: int | None, error: Message | None = None) -> Posted:
        return Posted(status, error, int((time.monotonic() - started) * 1000))

    parts = urlsplit(url)
    try:
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port or 443
    except ValueError:
        host, port = "", 443
    if parts.scheme.lower() != "https" or not host:
        return done(None, msg(gettext_noop("Only https:// addresses can receive events.")))
    try:
        context = tls_context(ca_bundle)
    except (OSError, ssl.SSLError) as error:
        return done(None, _unreadable_ca_bundle(error).detail)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    watchdog = Watchdog(deadline)
    fetch = _Fetch(
        name=host,
        port=port,
        token="",
        prefix="",
        old_tokens=(),
        resolver=resolver,
        allow_loopback=allow_loopback,
        connect_timeout=float(connect_timeout),
        max_bytes=int(max_bytes),
        deadline=deadline,
        start_url=url,
        tls_context=context,
        watchdog=watchdog,
        method="POST",
        body=body,
        headers=tuple(headers.items()),
    )
    try:
        try:
            addresses = contactable_addresses(host, resolver=resolver, allow_loopback=allow_loopback, deadline=deadline)
        except AddressRefused as refused:
            return done(None, refused.detail)
        answer = _fetch_once(_Target(host, port, path), addresses, fetch)
    except _Stop as stop:
        if stop.outcome == Outcome.NOT_FOUND:  # a TLS problem the receiver's owner must fix
            return done(None, stop.detail)
        if watchdog.fired or remaining(deadline) <= 0 or "timed out" in stop.detail.text:
            return done(None, msg(gettext_noop("%(host)s did not answer in time, so we stopped waiting."), host=host))
        return done(None, msg(gettext_noop("We could not connect to %(host)s on port %(port)s."), host=host, port=port))
    finally:
        watchdog.close()
    return done(answer.status)
