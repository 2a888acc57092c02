"""Pure I/O checks of domain ownership: no ORM, no settings (callers pass configuration).

    check_dns_txt(name, token, *, resolver, label, prefix, deadline, allow_loopback, old_tokens=()) -> CheckResult
    check_https_file(name, token, *, resolver, port, filename, ca_bundle, allow_loopback,
                     connect_timeout, max_bytes, deadline, prefix, old_tokens=()) -> CheckResult

`deadline` is an absolute time.monotonic() value. `CheckResult.outcome` is an `Outcome`,
the same class as `DomainCheck.Outcome`. Definitive outcomes (not_found, mismatch) come only
from an answer that says the record or file is absent or wrong; inconclusive ones never grant
and never revoke.

Modules: results (shared types), dns (TXT lookups, authoritative mode), https (the HTML-file
check, and `post`/`vet_host` for webhook deliveries under the same rules), transport (one pinned HTTPS request under a deadline watchdog), diagnostics (what to tell
the admin when the token is missing), netsafety (which addresses may be contacted).
"""

from domains.verifiers.dns import check_dns_txt
from domains.verifiers.https import Posted, check_https_file, post, vet_host
from domains.verifiers.netsafety import embedded_ipv4, is_forbidden_address
from domains.verifiers.results import CheckResult, Outcome, ResolverConfig

__all__ = [
    "CheckResult",
    "Posted",
    "Outcome",
    "ResolverConfig",
    "check_dns_txt",
    "check_https_file",
    "embedded_ipv4",
    "is_forbidden_address",
    "post",
    "vet_host",
]
