"""Send the due re-validation reminders now (what the scheduled sweep does)."""

from django.core.management.base import BaseCommand

from domains import reminders
from domains.management.commands._clock_option import add_now_argument, clock_at, parse_now


class Command(BaseCommand):
    help = "E-mail the due re-validation reminders (30, 7 and 1 days left); --now previews another moment."

    def add_arguments(self, parser):
        add_now_argument(parser)

    def handle(self, *args, now=None, **options):
        with clock_at(parse_now(now)):
            sent = reminders.send_due_reminders()
        self.stdout.write(f"{sent} reminder(s) sent.")
