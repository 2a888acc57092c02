"""Pure I/O checks of domain ownership: no ORM, no settings (callers pass configuration).

INTERFACE (implemented by the verifier work; callers rely on exactly these names):

    CheckResult(outcome, detail: Message, diagnostics: tuple[Message, ...], duration_ms)
    ResolverConfig(nameservers, port, timeout, authoritative)
    check_dns_txt(name, token, *, resolver: ResolverConfig, label, prefix, deadline, old_tokens=()) -> CheckResult
    check_https_file(name, token, *, resolver: ResolverConfig, port, filename, ca_bundle,
                     allow_loopback, connect_timeout, max_bytes, deadline) -> CheckResult

`deadline` is an absolute time.monotonic() value. Outcomes: "verified", "not_found",
"mismatch", "inconclusive".
"""

from dataclasses import dataclass, field

from domains.messages import Message

VERIFIED = "verified"
NOT_FOUND = "not_found"
MISMATCH = "mismatch"
INCONCLUSIVE = "inconclusive"


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


# --- Provisional stubs, replaced by the real implementations below in the next commit. ---
def check_dns_txt(name, token, *, resolver, label, prefix, deadline, old_tokens=()) -> CheckResult:
    from domains.messages import gettext_noop

    return CheckResult(INCONCLUSIVE, Message(gettext_noop("The DNS check is not available yet.")))


def check_https_file(
    name, token, *, resolver, port, filename, ca_bundle, allow_loopback, connect_timeout, max_bytes, deadline,
    old_tokens=(),
) -> CheckResult:
    from domains.messages import gettext_noop

    return CheckResult(INCONCLUSIVE, Message(gettext_noop("The HTTPS check is not available yet.")))
