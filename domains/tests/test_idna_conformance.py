"""idna_names against Unicode's own UTS #46 conformance file (data/IdnaTestV2.txt, see data/README.md).

For each line, ToASCII (non-transitional, all checks on) must fail when the file says it
fails, and otherwise give the file's ASCII and Unicode forms. Two kinds of line are not
compared, each counted and printed:
- stricter by design: UTS #46 accepts symbols and emoji that IDNA 2008 does not (the file
  says an IDNA 2008 implementation "would disallow" them); we must refuse these;
- newer Unicode: the file is of Unicode 13.0, our tables of a later version: characters
  assigned since then, and the UTS #46 15.1 mapping changes, legitimately change the answer.
"""

import re
import unicodedata
from collections import Counter
from pathlib import Path

from idna import idnadata
from idna.intranges import intranges_contain

from domains.normalize import DomainNameError, idna_names

DATA = Path(__file__).parent / "data" / "IdnaTestV2.txt"
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\x\{([0-9A-Fa-f]+)\}")

# UTS #46 15.1 derived its mapping from NFKC_Casefold: these changed from disallowed to mapped
# (Cyrillic palochka, Georgian capitals) or ignored (Hangul fillers).
_REMAPPED_IN_15_1 = {0x04C0, 0x115F, 0x1160, 0x3164, 0xFFA0, *range(0x10A0, 0x10C6)}


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)


def _cases():
    for number, line in enumerate(DATA.read_text(encoding="utf-8").splitlines(), 1):
        data = line.split("#", 1)[0].strip()
        if not data:
            continue
        source, to_unicode, unicode_status, to_ascii, ascii_status = ([c.strip() for c in data.split(";")] + [""] * 5)[:5]
        source = _unescape(source)
        to_unicode = _unescape(to_unicode) if to_unicode else source
        to_ascii = _unescape(to_ascii) if to_ascii else to_unicode
        ascii_status = ascii_status or unicode_status or "[]"
        yield number, source, to_unicode, to_ascii, ascii_status != "[]"


def _idna2008_disallows(text: str) -> bool:
    classes = idnadata.codepoint_classes
    return any(
        not any(intranges_contain(ord(char), classes[kind]) for kind in ("PVALID", "CONTEXTJ", "CONTEXTO"))
        for char in text
        if char != "."
    )


def _decoded(label: str) -> str:
    try:
        return label[4:].encode("ascii").decode("punycode") if label.startswith("xn--") else label
    except UnicodeError:
        return label


def _newer_than_the_file(text: str) -> bool:
    # Unassigned in Python's Unicode 14 tables means unassigned in the file's Unicode 13 too.
    decoded = "".join(_decoded(label) for label in text.lower().split("."))
    return any(unicodedata.category(char) == "Cn" or ord(char) in _REMAPPED_IN_15_1 for char in text + decoded)


def _result(source: str):
    try:
        return idna_names(source)
    except DomainNameError:
        return None


def test_uts46_conformance_file():
    counts: Counter = Counter()
    failures = []
    for number, source, to_unicode, to_ascii, fails in _cases():
        result = _result(source)
        if _newer_than_the_file(source) and (result is None) != fails:
            counts["skipped: characters or mappings newer than Unicode 13"] += 1
            continue
        if not fails and result is None and _idna2008_disallows(to_unicode):
            counts["refused: allowed by UTS #46, disallowed by IDNA 2008"] += 1
            continue
        counts["compared"] += 1
        expected = None if fails else (to_ascii.removesuffix("."), to_unicode.removesuffix("."))
        if result != expected:
            failures.append(f"line {number}: {source!r} gave {result!r}, the file says {expected!r}")
    print(dict(counts))
    assert not failures, f"{len(failures)} line(s) disagree:\n" + "\n".join(failures[:40])
    assert counts["compared"] > 6000
