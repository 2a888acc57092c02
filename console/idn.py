"""IDNA 2008 with the UTS #46 mapping: `idna_names(text)` -> (ASCII name, Unicode name).

The one IDNA normaliser: domain names (domains.normalize adds the product's policy on top) and
the domain part of e-mail addresses (console.models.email_domain_of) both go through it, so mail
goes to the very domain that was verified.

The code point classes (PVALID, CONTEXTJ, CONTEXTO), joining types and the UTS #46 mapping
come from the `idna` package's tables. idna's own label checks read bidi classes, combining
classes and normalisation from Python's unicodedata, whose tables (Unicode 14 on Python
3.11) are older than idna's and know nothing of newer scripts; unicodedata2 has the same
Unicode version as idna, so the rules below use it. idna also applies the Bidi Rule label
by label, while RFC 5893 applies it to every label of a name that has a right-to-left one.
"""

import re

import idna
import unicodedata2
from idna import idnadata
from idna.intranges import intranges_contain

from console.messages import Message, gettext_noop

MAX_NAME_LENGTH = 253
MAX_LABEL_LENGTH = 63
MAX_INPUT_LENGTH = 2048


class DomainNameError(ValueError):
    """The input cannot be used as a domain name; `message` says why, `code` names the rule."""

    def __init__(self, message: Message, code: str):
        super().__init__(message.english())
        self.message = message
        self.code = code


def reject(code: str, text: str, **params) -> DomainNameError:
    return DomainNameError(Message(text, params), code)

_LDH_RE = re.compile(r"^[a-z0-9-]+$")

_JOINERS = "\u200c\u200d"  # ZWNJ, ZWJ: allowed where IDNA's CONTEXTJ rules say so
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
_VIRAMA = 9  # canonical combining class of a virama (RFC 5892 A.1, A.2)


def check_characters(name: str) -> None:
    for char in name:
        if char.isspace():
            raise reject("space", gettext_noop("A domain name cannot contain spaces."))
        if unicodedata2.category(char) in _INVISIBLE_CATEGORIES and char not in _JOINERS:
            raise reject(
                "invalid_character",
                gettext_noop("A domain name cannot contain invisible or control characters (%(codepoint)s)."),
                codepoint=f"U+{ord(char):04X}",
            )
        if char == "_":
            raise reject(
                "underscore",
                gettext_noop(
                    "A domain name cannot contain an underscore (_). "
                    "Enter the domain itself (e.g. example.com), not the host of the TXT record."
                ),
            )
        if char == "*":
            raise reject(
                "wildcard", gettext_noop("A wildcard (*) cannot be verified. Enter the domain name itself.")
            )
        if ord(char) < 128 and not (char.isalnum() or char in ".-"):
            raise reject(
                "invalid_character",
                gettext_noop("A domain name cannot contain the character “%(char)s”."),
                char=char,
            )


def mapped_text(text: str) -> str:
    """UTS #46 mapping (case folding, full-width forms, ideographic full stops), in NFC."""
    try:
        mapped = idna.uts46_remap(text, std3_rules=False)
    except (idna.IDNAError, UnicodeError, ValueError):
        check_characters(text)  # say which character is wrong when we can
        raise reject(
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
    return reject(
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
                raise reject(
                    "joiner",
                    gettext_noop(
                        "The part “%(label)s” has an invisible joiner (%(codepoint)s) where IDNA does not allow "
                        "one; it is allowed only inside words of scripts that need it."
                    ),
                    label=label[:MAX_LABEL_LENGTH],
                    codepoint=f"U+{ord(char):04X}",
                )
        elif not intranges_contain(ord(char), classes["CONTEXTO"]):
            raise reject(
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
        raise reject(
            "hyphen",
            gettext_noop("The part “%(label)s” starts or ends with a hyphen, which is not allowed."),
            label=label[:MAX_LABEL_LENGTH],
        )
    if label[2:4] == "--":
        raise reject(
            "hyphen",
            gettext_noop("The part “%(label)s” has two hyphens in the third and fourth position, which is reserved."),
            label=label[:MAX_LABEL_LENGTH],
        )
    if unicodedata2.normalize("NFC", label) != label:
        raise _invalid_label(label)
    if unicodedata2.category(label[0]).startswith("M"):
        raise reject(
            "invalid_idn",
            gettext_noop("The part “%(label)s” starts with a combining mark, which is not allowed."),
            label=label[:MAX_LABEL_LENGTH],
        )
    _check_code_points(label)


def _decode_a_label(label: str) -> str:
    """The U-label of a punycode label, which must encode back to exactly itself."""
    invalid = reject(
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
        raise reject(
            "hyphen",
            gettext_noop("The part “%(label)s” starts or ends with a hyphen, which is not allowed."),
            label=label[:MAX_LABEL_LENGTH],
        )
    if label.isascii():
        if len(label) > MAX_LABEL_LENGTH:
            raise reject(
                "label_too_long",
                gettext_noop("Each part of a domain name can be at most %(max)s characters; one part has %(length)s."),
                max=MAX_LABEL_LENGTH,
                length=len(label),
            )
        if not _LDH_RE.match(label):  # pragma: no cover  (characters were checked before)
            raise reject("invalid_character", gettext_noop("The part “%(label)s” is not valid."), label=label)
        if label.startswith("xn--"):
            return label, _decode_a_label(label)
        _check_u_label(label)
        return label, label
    _check_u_label(label)
    encoded = "xn--" + label.encode("punycode").decode("ascii")
    if len(encoded) > MAX_LABEL_LENGTH:
        raise reject(
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
            raise reject(
                "bidi",
                gettext_noop(
                    "This name mixes right-to-left and left-to-right text in a way IDNA does not allow "
                    "(in the part “%(label)s”)."
                ),
                label=label[:MAX_LABEL_LENGTH],
            )


def empty_label() -> DomainNameError:
    return reject(
        "empty_label", gettext_noop("A domain name cannot contain empty parts (two dots in a row, or a leading dot).")
    )


def labels_to_names(labels: list[str]) -> tuple[str, str]:
    """(ASCII name, Unicode name) of mapped labels: every label valid, the Bidi Rule across them."""
    forms = [_label_forms(label) for label in labels]
    ascii_name = ".".join(a for a, _ in forms)
    if len(ascii_name) > MAX_NAME_LENGTH:
        raise reject(
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
    mapped = mapped_text(text)
    if mapped.endswith("."):
        mapped = mapped[:-1]
    check_characters(mapped)
    labels = mapped.split(".")
    if any(label == "" for label in labels):
        raise empty_label()
    return labels_to_names(labels)


def ascii_name(text: str) -> str:
    """A name as typed (an operator's spelling, an e-mail address's domain) → the stored form
    (lower case, punycode, no trailing dot).

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
