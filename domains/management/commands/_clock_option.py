"""`--now`: run a command as if it were another moment (e.g. to preview reminders and expiry on
a demo instance). The one clock is moved for this command only and put back afterwards."""

from contextlib import contextmanager
from datetime import datetime

from django.core.management.base import CommandError
from django.utils.dateparse import parse_datetime

from console import clock


def add_now_argument(parser) -> None:
    parser.add_argument(
        "--now",
        metavar="WHEN",
        help="act as if it were WHEN (ISO 8601 with a zone, e.g. 2026-12-20T09:00Z); for previews on demo data",
    )


def parse_now(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = parse_datetime(text.replace("Z", "+00:00")) if text else None
    if moment is None or moment.tzinfo is None:
        raise CommandError(f"--now {text!r}: give a date and time with a zone, e.g. 2026-12-20T09:00Z.")
    return moment


@contextmanager
def clock_at(moment: datetime | None):
    if moment is None:
        yield
        return
    with clock.frozen_at(moment):
        yield
