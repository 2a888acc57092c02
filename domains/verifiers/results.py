"""What a check is given and what it returns: shared by the DNS check, the HTTPS check and the
DomainCheck model (whose `Outcome` is this very class)."""

import time
from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy as _

from console.messages import Message


class Outcome(models.TextChoices):
    VERIFIED = "verified", _("Verified")
    NOT_FOUND = "not_found", _("Not found")
    MISMATCH = "mismatch", _("Mismatch")
    INCONCLUSIVE = "inconclusive", _("Inconclusive")


@dataclass(frozen=True)
class ResolverConfig:
    nameservers: tuple[str, ...] = ()
    port: int = 53
    timeout: float = 3.0
    authoritative: bool = False


@dataclass(frozen=True)
class CheckResult:
    outcome: Outcome
    detail: Message
    diagnostics: tuple[Message, ...] = field(default_factory=tuple)
    duration_ms: int = 0


def msg(text: str, **params) -> Message:
    return Message(text, params)


def remaining(deadline: float) -> float:
    """Seconds left before the absolute time.monotonic() `deadline` (negative once passed)."""
    return deadline - time.monotonic()
