"""The list pages' row helpers give the same texts as the template filters they stand in for."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import formats, timezone, translation

from console.rows import date_formatter, link_maker

MOMENTS = [
    datetime(2026, 11, 28, 23, 59, 1, 5, tzinfo=UTC),
    datetime(2026, 11, 28, 23, 59, 58, tzinfo=UTC),  # same minute as the first
    datetime(2026, 11, 29, 0, 0, 0, tzinfo=UTC),
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
]


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("format_name", ["DATE_FORMAT", "DATETIME_FORMAT", "SHORT_DATETIME_FORMAT"])
def test_formatted_once_per_day_or_minute_yet_the_same_as_date_format(language, format_name):
    with translation.override(language):
        formatter = date_formatter(format_name)
        for moment in MOMENTS:
            assert formatter(moment) == formats.date_format(timezone.localtime(moment), format_name)
        assert formatter(None) == ""


def test_a_format_with_seconds_is_not_shared_within_a_minute():
    formatter = date_formatter(r"H:i:s \m")  # the escaped "m" is a literal, not the month
    first, second = MOMENTS[0], MOMENTS[0] + timedelta(seconds=30)
    assert formatter(first) == "23:59:01 m"
    assert formatter(second) == "23:59:31 m"


def test_a_date_only_format_is_shared_within_a_day():
    formatter = date_formatter("j M Y")
    assert formatter(MOMENTS[0]) == formatter(MOMENTS[0] - timedelta(hours=20)) == "28 Nov 2026"


def test_links_are_the_reversed_ones():
    detail = link_maker("console:user_remove")
    for pk in (1, 42, 9_000_000):
        assert detail(pk) == reverse("console:user_remove", args=[pk])
