"""Running a check: the one entry point (`check_domains` / `check_domain`) that Verify, the
scheduled sweep and the operators' command all use. It takes domains and a deadline, finds
their old tokens itself (a record still holding one is worth a diagnostic) and runs the
pure-I/O verifiers with the configuration from settings; the verifiers never read settings, so
tests drive them directly against the loopback DNS and HTTPS servers.

A domain is verified by either method: the chosen one is checked first and, when it does not
verify, the other one; the result names the method that proved it (`MethodCheckResult.method`),
so the lifecycle can record it and switch the domain's method to the one that works.

What a result does to a domain is domains.lifecycle's.
"""

import html
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings

from console.messages import Message, gettext_noop
from domains.models import Domain
from domains.verifiers import (
    CheckResult,
    Outcome,
    ResolverConfig,
    check_dns_txt,
    check_https_file,
)
from domains.verifiers.dns import Lookup, first_lookups, holds_token

DNS = "dns"
HTTPS = "https"
METHODS = (DNS, HTTPS)
# The other method is tried only with at least this much of the deadline left.
MIN_SECONDS_FOR_OTHER_METHOD = 1.0


@dataclass(frozen=True)
class MethodCheckResult(CheckResult):
    """A verifier's result and the method ("dns" or "https") that produced it."""

    method: str = ""


def other_method(method: str) -> str:
    return HTTPS if method == DNS else DNS


def resolver_config_from_settings() -> ResolverConfig:
    return ResolverConfig(
        nameservers=tuple(settings.DNS_NAMESERVERS or ()),
        port=int(settings.DNS_PORT),
        timeout=float(settings.DNS_TIMEOUT_SECONDS),
        authoritative=bool(settings.DNS_AUTHORITATIVE_MODE),
    )


def txt_record_value(token: str) -> str:
    """The exact TXT value (and HTML file marker) the admin publishes."""
    return f"{settings.DOMAIN_TXT_PREFIX}{token}"


def html_file_content(token: str) -> str:
    """The small HTML page offered by "Download HTML File"; it holds `<prefix><token>`."""
    value = html.escape(txt_record_value(token))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        f'<meta name="domain-verification" content="{value}">\n'
        "<title>Domain verification</title>\n"
        "</head>\n"
        "<body>\n"
        f"{value}\n"
        "</body>\n"
        "</html>\n"
    )


def run_check(
    domain_name: str,
    token: str,
    method: str,
    *,
    deadline_seconds: float,
    old_tokens: tuple[str, ...] | list[str] = (),
    first_lookup: Lookup | None = None,
    spent: float = 0.0,
) -> MethodCheckResult:
    """Run one check of `domain_name` (ASCII) by `method` ("dns" or "https") within the deadline.

    Never raises for network trouble: every failure is a CheckResult (inconclusive when the
    answer could not be had). duration_ms is measured here. `first_lookup`: the DNS check's
    first lookup, already made in `spent` seconds (which count against the deadline).
    """
    started = time.monotonic() - spent
    deadline = started + float(deadline_seconds)
    resolver = resolver_config_from_settings()
    method = str(method)
    if method == DNS:
        result = check_dns_txt(
            domain_name,
            token,
            resolver=resolver,
            label=settings.DOMAIN_TXT_LABEL,
            prefix=settings.DOMAIN_TXT_PREFIX,
            deadline=deadline,
            allow_loopback=bool(settings.HTTPS_ALLOW_LOOPBACK),
            old_tokens=tuple(old_tokens),
            first_lookup=first_lookup,
        )
    elif method == HTTPS:
        result = check_https_file(
            domain_name,
            token,
            resolver=resolver,
            port=int(settings.HTTPS_PORT),
            filename=settings.DOMAIN_HTML_FILENAME,
            ca_bundle=settings.HTTPS_CA_BUNDLE or None,
            allow_loopback=bool(settings.HTTPS_ALLOW_LOOPBACK),
            connect_timeout=float(settings.HTTPS_CONNECT_TIMEOUT_SECONDS),
            max_bytes=int(settings.HTTPS_MAX_BYTES),
            deadline=deadline,
            old_tokens=tuple(old_tokens),
            prefix=settings.DOMAIN_TXT_PREFIX,
        )
    else:
        result = CheckResult(
            Outcome.INCONCLUSIVE, Message(gettext_noop("Unknown verification method %(method)s."), {"method": method})
        )
    duration_ms = int((time.monotonic() - started) * 1000)
    return MethodCheckResult(result.outcome, result.detail, tuple(result.diagnostics), duration_ms, method)


def run_check_either(
    domain_name: str,
    token: str,
    method: str,
    *,
    deadline_seconds: float,
    old_tokens: tuple[str, ...] | list[str] = (),
    first_lookup: Lookup | None = None,
    spent: float = 0.0,
) -> MethodCheckResult:
    """Check by `method`, then (if it did not verify) by the other method within what is left
    of the deadline. A verification by either is returned with its method; otherwise the
    chosen method's result, which is what the admin is working on."""
    started = time.monotonic() - spent
    first = run_check(
        domain_name, token, method, deadline_seconds=deadline_seconds, old_tokens=old_tokens,
        first_lookup=first_lookup, spent=spent,
    )
    remaining = float(deadline_seconds) - (time.monotonic() - started)
    if first.outcome == Outcome.VERIFIED or method not in METHODS or remaining < MIN_SECONDS_FOR_OTHER_METHOD:
        return first
    second = run_check(
        domain_name, token, other_method(method), deadline_seconds=remaining, old_tokens=old_tokens
    )
    duration_ms = int((time.monotonic() - started) * 1000)
    chosen = second if second.outcome == Outcome.VERIFIED else first
    return MethodCheckResult(chosen.outcome, chosen.detail, chosen.diagnostics, duration_ms, chosen.method)


def old_tokens_of(domains: Iterable[Domain]) -> dict[tuple[int, str], tuple[str, ...]]:
    """Tokens of removed earlier rows of the same (organization, name), newest first: they
    must not match, but finding one is worth a diagnostic. One query for any number of domains."""
    names = {d.name for d in domains}
    if not names:
        return {}
    found: dict[tuple[int, str], list[str]] = {}
    rows = (
        Domain.objects.filter(name__in=names, status=Domain.Status.REMOVED)
        .order_by("-removed_at", "-pk")
        .values_list("organization_id", "name", "token")
    )
    for organization_id, name, token in rows:
        found.setdefault((organization_id, name), []).append(token)
    return {key: tuple(tokens) for key, tokens in found.items()}


_pools: dict[tuple[int, int], ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def check_pool(workers: int) -> ThreadPoolExecutor:
    """A process-wide pool of `workers` check threads, kept between batches: starting a
    couple of hundred threads for every batch cost more than the checks of a small one.
    Keyed by process id too, since a forked worker child cannot use its parent's threads."""
    key = (os.getpid(), workers)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="domain-check")
        return pool


def check_domains(
    domains: list[Domain], *, deadline_seconds: float, concurrency: int | None = None
) -> Iterator[tuple[Domain, MethodCheckResult]]:
    """Check each domain by its method, then the other one (run_check_either), within the
    deadline, concurrently, yielding (domain, result) as each finishes; no database work.

    The DNS checks' first lookups are made together by one thread over one socket
    (verifiers.dns.first_lookups): a domain whose lookup holds its token is verified there with
    nothing more to ask; every other check continues in the pool of threads (network I/O).
    """
    if not domains:
        return
    old = old_tokens_of(domains)

    def check(domain: Domain, first_lookup: Lookup | None = None, spent: float = 0.0) -> MethodCheckResult:
        return run_check_either(
            domain.name,
            domain.token,
            domain.method,
            deadline_seconds=deadline_seconds,
            old_tokens=old.get((domain.organization_id, domain.name), ()),
            first_lookup=first_lookup,
            spent=spent,
        )

    if len(domains) == 1:
        yield domains[0], check(domains[0])
        return
    workers = max(1, concurrency or settings.DOMAIN_CHECK_CONCURRENCY)
    pool = check_pool(workers)
    finished: queue.SimpleQueue = queue.SimpleQueue()  # (domain, future) as each check ends
    futures: list[Future] = []
    stopped = threading.Event()

    def submit(domain: Domain, *args) -> None:
        future = pool.submit(check, domain, *args)
        futures.append(future)
        future.add_done_callback(lambda done: finished.put((domain, done)))

    def look_up(by_dns: list[Domain]) -> None:
        # In a thread of its own, so the caller's database writes never hold up the lookups.
        looked_up = set()
        lookups = first_lookups(
            [(index, domain.name) for index, domain in enumerate(by_dns)],
            resolver=resolver_config_from_settings(),
            label=settings.DOMAIN_TXT_LABEL,
            deadline=time.monotonic() + float(deadline_seconds),
            concurrency=workers,
        )
        for index, lookup, spent in lookups:
            if stopped.is_set():
                return
            domain = by_dns[index]
            looked_up.add(index)
            if holds_token(lookup, domain.token, prefix=settings.DOMAIN_TXT_PREFIX):
                done: Future = Future()  # verified: no further I/O, no thread needed
                done.set_result(check(domain, lookup, spent))
                finished.put((domain, done))
            else:
                submit(domain, lookup, spent)
        for index, domain in enumerate(by_dns):
            if index not in looked_up and not stopped.is_set():
                submit(domain)

    lookup_thread = pool.submit(look_up, [domain for domain in domains if domain.method == DNS])  # first in line
    # A failure of the lookups themselves reaches the caller through the same queue, as a future that raises.
    lookup_thread.add_done_callback(
        lambda done: None if done.cancelled() or done.exception() is None else finished.put((None, done))
    )
    for domain in domains:
        if domain.method != DNS:
            submit(domain)
    try:
        for _ in domains:
            domain, future = finished.get()
            yield domain, future.result()
    finally:
        stopped.set()  # a caller that stops early leaves no queued checks behind
        for future in futures:
            future.cancel()


def check_domain(domain: Domain, *, deadline_seconds: float) -> MethodCheckResult:
    """`check_domains` for one domain."""
    (_domain, result), = check_domains([domain], deadline_seconds=deadline_seconds)
    return result


def check_domain_by(domain: Domain, method: str, *, deadline_seconds: float) -> MethodCheckResult:
    """Check the domain by `method` only (an admin asking to switch to it)."""
    old = old_tokens_of([domain])
    return run_check(
        domain.name,
        domain.token,
        method,
        deadline_seconds=deadline_seconds,
        old_tokens=old.get((domain.organization_id, domain.name), ()),
    )
