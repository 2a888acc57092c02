"""How old the bundled Public Suffix List and e-mail provider lists are (see docs/operations.md)."""

from django.core.management.base import BaseCommand, CommandError

from console import clock
from domains.normalize import MAX_LIST_AGE_DAYS, bundled_lists


class Command(BaseCommand):
    help = (
        "Print the date and age of each bundled domain list (Public Suffix List, shared and disposable "
        f"e-mail providers); --check exits with an error when one is older than {MAX_LIST_AGE_DAYS} days."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="fail when a list is too old or its age unknown")
        parser.add_argument("--max-age-days", type=int, default=MAX_LIST_AGE_DAYS)

    def handle(self, *args, check=False, max_age_days=MAX_LIST_AGE_DAYS, **options):
        today = clock.now().date()
        stale = []
        for bundled in bundled_lists():
            age = bundled.age_days(today)
            published = bundled.published.isoformat() if bundled.published else "unknown"
            verdict = "ok"
            if age is None:
                verdict = "age unknown"
            elif age > max_age_days:
                verdict = f"older than {max_age_days} days: update {bundled.package}"
            if verdict != "ok":
                stale.append(bundled.title)
            package = f"{bundled.package} {bundled.version}"
            self.stdout.write(
                f"{bundled.title:<28} {package:<34} data of {published} ({bundled.source}), "
                f"{'?' if age is None else age} days old: {verdict}"
            )
        if check and stale:
            raise CommandError(f"Out of date: {', '.join(stale)}. Bump the pins in requirements.txt.")
