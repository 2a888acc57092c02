"""How a TXT value relates to the expected `<prefix><token>`, and what to tell the admin when
the token is missing: wrong quotes, spaces, prefix or token at the right host, or the record
put at a host where people put it by mistake. Pure functions: the lookups are done by dns.py.
"""

import hmac
import re
from dataclasses import dataclass

from console.messages import Message, gettext_noop
from domains.normalize import registrable_domain
from domains.verifiers.results import msg

MAX_SHOWN_VALUES = 3
MAX_SHOWN_VALUE_LENGTH = 80

_QUOTES = "\"'“”‘’«»„"


def tokens_equal(candidate: str, token: str) -> bool:
    """Constant-time and case-insensitive: the token is hexadecimal, so ABCD is abcd."""
    return hmac.compare_digest(
        candidate.lower().encode("utf-8", "replace"), token.lower().encode("utf-8", "replace")
    )


def shorten(value: str, limit: int = MAX_SHOWN_VALUE_LENGTH) -> str:
    value = "".join(ch if ch.isprintable() else "?" for ch in value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def describe_values(values: list[str]) -> str:
    shown = [f"“{shorten(v)}”" for v in values[:MAX_SHOWN_VALUES]]
    if len(values) > MAX_SHOWN_VALUES:
        shown.append("…")
    return ", ".join(shown)


@dataclass
class ValueMatch:
    exact: bool = False
    quoted: bool = False
    spaces: bool = False
    no_prefix: bool = False
    other_prefix: str = ""
    old_token: bool = False
    our_prefix: bool = False  # looks like one of ours (prefix present, perhaps another token)

    @property
    def looks_like_ours(self) -> bool:
        return self.our_prefix or self.old_token or self.quoted or self.spaces or self.no_prefix

    @property
    def holds_token(self) -> bool:
        return self.exact or self.quoted or self.spaces or self.no_prefix or bool(self.other_prefix)


def examine(value: str, token: str, *, prefix: str, old_tokens: tuple[str, ...]) -> ValueMatch:
    """How a TXT value relates to the expected `<prefix><token>` (prefix case ignored)."""
    match = ValueMatch()
    stripped = value.strip()
    lowered_prefix = prefix.lower()
    if tokens_equal(stripped, prefix + token):  # prefix and token, case ignored, in constant time
        match.exact = match.our_prefix = True
        return match
    unquoted = stripped.strip(_QUOTES).strip()
    had_quotes = unquoted != stripped
    squeezed = re.sub(r"\s+", "", unquoted)
    if unquoted.lower().startswith(lowered_prefix):
        match.our_prefix = True
        if tokens_equal(unquoted[len(prefix) :], token):  # only the quotes were wrong
            match.quoted = True
            return match
    if squeezed.lower().startswith(lowered_prefix):
        match.our_prefix = True
        rest = squeezed[len(prefix) :]
        if tokens_equal(rest, token):
            match.spaces = True
            match.quoted = had_quotes
            return match
        if any(tokens_equal(rest, old) for old in old_tokens):
            match.old_token = True
            return match
    bare_prefix = lowered_prefix.rstrip("=:")
    if bare_prefix and squeezed.lower().startswith(bare_prefix):
        match.our_prefix = True  # e.g. "twilio-domain-verification:<something>"
    if tokens_equal(squeezed, token):
        match.no_prefix = True
        match.quoted = had_quotes
        return match
    if any(tokens_equal(squeezed, old) for old in old_tokens):
        match.old_token = match.our_prefix = True
        return match
    match.other_prefix = _other_prefix(squeezed, token)
    return match


def _other_prefix(squeezed: str, token: str) -> str:
    """Another prefix (e.g. "google-site-verification=") with our token after it, or ""."""
    if token and len(squeezed) > len(token):
        head, tail = squeezed[: -len(token)], squeezed[-len(token) :]
        if head.endswith(("=", ":")) and tokens_equal(tail, token):
            return head
    return ""


# --- values at the right host --------------------------------------------------------------------


def _value_problems(match: ValueMatch, *, host: str, prefix: str, expected: str):
    """(kind, message) for each problem this value has, most specific first."""
    if match.quoted and not match.spaces:
        yield "quoted", msg(
            gettext_noop(
                "The TXT record at %(host)s contains quotation marks as part of its value. "
                "Remove the extra quotes: the value must be exactly %(expected)s."
            ),
            host=host,
            expected=expected,
        )
    if match.spaces:
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
        yield "spaces", msg(text, host=host, expected=expected)
    if match.no_prefix:
        yield "no_prefix", msg(
            gettext_noop(
                "The TXT record at %(host)s holds the token without the prefix %(prefix)s. "
                "Change the value to %(expected)s."
            ),
            host=host,
            prefix=prefix,
            expected=expected,
        )
    if match.other_prefix:
        yield "other_prefix", msg(
            gettext_noop(
                "The TXT record at %(host)s holds the token after “%(found)s” instead of %(prefix)s. "
                "Change the value to %(expected)s."
            ),
            host=host,
            found=shorten(match.other_prefix, 40),
            prefix=prefix,
            expected=expected,
        )
    if match.old_token:
        yield "old_token", msg(
            gettext_noop(
                "The TXT record at %(host)s holds an older token of this domain, which no longer "
                "counts. Replace it with %(expected)s."
            ),
            host=host,
            expected=expected,
        )


def value_diagnostics(
    host: str, values: list[str], token: str, *, prefix: str, old_tokens: tuple[str, ...]
) -> tuple[list[Message], bool]:
    """Diagnostics for values at the right host; returns (messages, looks_like_ours)."""
    expected = f"{prefix}{token}"
    messages: list[Message] = []
    ours = False
    seen: set[str] = set()
    for value in values:
        match = examine(value, token, prefix=prefix, old_tokens=old_tokens)
        ours = ours or match.looks_like_ours
        for kind, message in _value_problems(match, host=host, prefix=prefix, expected=expected):
            if kind not in seen:  # one message per kind of problem, the first that applies
                seen.add(kind)
                messages.append(message)
                break
    if ours and not messages:
        messages.append(
            msg(
                gettext_noop(
                    "The TXT record at %(host)s holds a different verification token (perhaps from another "
                    "organization or an earlier attempt). Replace it with %(expected)s."
                ),
                host=host,
                expected=expected,
            )
        )
    return messages, ours


# --- the record at the wrong host ----------------------------------------------------------------


@dataclass(frozen=True)
class Misplacement:
    kind: str  # "doubled", "apex" or "other_label"
    qname: str  # where to look
    enter_host: str  # what the admin should type as the host


def misplacement_candidates(name: str, *, label: str, prefix: str) -> list[Misplacement]:
    """The places people put the record by mistake, in the order we report them."""
    bare_label = label.lstrip("_")
    prefix_label = prefix.rstrip("=:").strip()
    candidates = [
        Misplacement("doubled", f"{label}.{name}.{name}", label),
        Misplacement("apex", name, label),
        Misplacement("other_label", f"{bare_label}.{name}", label) if bare_label and bare_label != label else None,
        Misplacement("other_label", f"_{prefix_label}.{name}", label) if prefix_label else None,
        Misplacement("other_label", f"{prefix_label}.{name}", label) if prefix_label else None,
        Misplacement("other_label", f"{label}.www.{name}", label),
        Misplacement("other_label", f"www.{name}", label),
    ]
    try:
        zone = registrable_domain(name)
    except Exception:  # noqa: BLE001  (diagnostics must never break a check)
        zone = None
    if zone and zone != name and name.endswith("." + zone):
        # The record was entered in the parent zone's DNS, whose provider appended the zone.
        relative = name[: -len(zone) - 1]
        candidates.insert(1, Misplacement("doubled", f"{label}.{name}.{zone}", f"{label}.{relative}"))
    result, seen = [], set()
    for item in candidates:
        if item and item.qname not in seen and len(item.qname) <= 253:
            seen.add(item.qname)
            result.append(item)
    return result


_MISPLACED_TEXT = {
    "doubled": gettext_noop(
        "We found the token at %(found_at)s: your DNS provider appends the domain to the host "
        "name. Enter only %(label)s as the host (not the full name) so the record is at %(host)s."
    ),
    "apex": gettext_noop(
        "We found the token in a TXT record at %(found_at)s itself. Move it to the host "
        "%(label)s, i.e. %(host)s."
    ),
    "other_label": gettext_noop(
        "We found the token at %(found_at)s, which is the wrong host. Put the record at "
        "%(host)s (host %(label)s)."
    ),
}


def wildcard_message(name: str, *, host: str) -> Message:
    return msg(
        gettext_noop(
            "We found the token only in a wildcard TXT record (*.%(domain)s), which does not apply to %(host)s. "
            "Publish the TXT record at %(host)s itself."
        ),
        domain=name,
        host=host,
    )


def holds_token_or_old(values: list[str], token: str, *, prefix: str, old_tokens: tuple[str, ...]) -> bool:
    return any(
        match.holds_token or match.old_token
        for match in (examine(v, token, prefix=prefix, old_tokens=old_tokens) for v in values)
    )


def misplacement_messages(
    found: list[tuple[Misplacement, list[str]]],
    token: str,
    *,
    host: str,
    label: str,
    prefix: str,
    old_tokens: tuple[str, ...],
) -> list[Message]:
    """What to tell the admin about the TXT values found at each misplaced host."""
    messages = []
    for candidate, values in found:
        holds_token = any(examine(v, token, prefix=prefix, old_tokens=()).holds_token for v in values)
        holds_old = (
            not holds_token
            and bool(old_tokens)
            and any(examine(v, token, prefix=prefix, old_tokens=old_tokens).old_token for v in values)
        )
        if holds_old:
            messages.append(
                msg(
                    gettext_noop(
                        "We found an older token of this domain at %(found_at)s. It no longer counts: publish "
                        "%(expected)s at %(host)s."
                    ),
                    found_at=candidate.qname,
                    expected=f"{prefix}{token}",
                    host=host,
                )
            )
        elif holds_token:
            label_shown = candidate.enter_host if candidate.kind == "doubled" else label
            messages.append(
                msg(_MISPLACED_TEXT[candidate.kind], found_at=candidate.qname, label=label_shown, host=host)
            )
    return messages
