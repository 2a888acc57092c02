"""Apply the 30-day expiry now (what the hourly sweep does), or list what it would do."""

from django.core.management.base import BaseCommand

from console.models import AuditEvent
from domains import expiry
from domains.management.commands._clock_option import add_now_argument, clock_at, parse_now


class Command(BaseCommand):
    help = "Delete domains not re-validated within 30 days and remove their users (--dry-run lists them)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list what would be removed; change nothing")
        add_now_argument(parser)

    def handle(self, *args, dry_run=False, now=None, **options):
        with clock_at(parse_now(now)):
            self._expire(dry_run=dry_run)

    def _expire(self, *, dry_run):
        lapsed = list(expiry.lapsed_domains().select_related("organization"))
        if dry_run:
            for domain in lapsed:
                self.stdout.write(
                    f"would delete {domain.name} from {domain.organization.name} [org {domain.organization_id}] "
                    f"(grace deadline {domain.grace_deadline:%Y-%m-%d %H:%M} UTC)"
                )
                for membership in expiry.members_at_domain(domain):
                    self.stdout.write(f"  would remove {membership.user.email} ({membership.role})")
            self.stdout.write(f"{len(lapsed)} domain(s) would expire (dry run: nothing changed).")
            return
        outcomes = expiry.expire_lapsed_domains(actor_kind=AuditEvent.ActorKind.OPERATOR)
        for outcome in outcomes:
            self.stdout.write(f"deleted {outcome.domain_name} [org {outcome.organization_id}]")
            for email in outcome.removed:
                self.stdout.write(f"  removed {email}")
            for email, reason in outcome.skipped:
                self.stdout.write(f"  kept {email}: {reason}")
        self.stdout.write(f"{len(outcomes)} domain(s) expired.")
