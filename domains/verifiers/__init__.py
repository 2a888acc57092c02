"""Pure I/O checks of domain ownership: no ORM, no settings (callers pass configuration).

    check_dns_txt(name, token, *, resolver, label, prefix, deadline, allow_loopback, old_tokens=()) -> CheckResult
    check_https_file(name, token, *, resolver, port, filename, ca_bundle, allow_loopback,
                     connect_timeout, max_bytes, deadline, prefix, old_tokens=()) -> CheckResult

`deadline` is an absolute time.monotonic() value. `CheckResult.outcome` is an `Outcome`,
the same class as `DomainCheck.Outcome`. Definitive outcomes (not_found, mismatch) come only
from an answer that says the record or file is absent or wrong; inconclusive ones never grant
and never revoke.

Modules: results (shared types), dns (TXT lookups, authoritative mode), https (the HTML-file
check, `post`/`vet_host` for webhook deliveries and `contactable_addresses` for the IdP
requests of single sign-on, under the same rules), transport (one pinned HTTPS request, or a
pinned connection pool, under a deadline watchdog), diagnostics (what to tell
the admin when the token is missing), netsafety (which addresses may be contacted).
"""

from domains.verifiers.dns import check_dns_txt
from domains.verifiers.https import AddressRefused, Posted, check_https_file, contactable_addresses, post, vet_host
from domains.verifiers.netsafety import embedded_ipv4, is_forbidden_address
from domains.verifiers.results import CheckResult, Outcome, ResolverConfig

__all__ = [
    "AddressRefused",
    "CheckResult",
    "Posted",
    "Outcome",
    "ResolverConfig",
    "check_dns_txt",
    "check_https_file",
    "contactable_addresses",
    "embedded_ipv4",
    "is_forbidden_address",
    "post",
    "vet_host",
]
