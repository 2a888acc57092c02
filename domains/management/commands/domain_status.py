"""Show a domain's state and history: every organization's row of the name, its recent checks
and its audit trail."""

from django.core.management.base import BaseCommand, CommandError

from console.models import AuditEvent
from domains.models import Domain
from domains.normalize import ascii_name


def _when(value) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value else "-"


class Command(BaseCommand):
    help = "Print a domain's state, schedule, recent checks and audit history."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--checks", type=int, default=10, help="how many recent checks to show")

    def handle(self, *args, name, checks=10, **options):
        name = ascii_name(name)
        rows = list(Domain.objects.filter(name=name).select_related("organization").order_by("created_at", "pk"))
        if not rows:
            raise CommandError(f"No domain named {name}.")
        for domain in rows:
            out = self.stdout.write
            out(f"{domain.name} ({domain.unicode_name}) — {domain.organization.name} [org {domain.organization_id}], row {domain.pk}")
            out(f"  status          {domain.status}   method {domain.method}")
            out(f"  verified at     {_when(domain.verified_at)}")
            out(f"  last check      {_when(domain.last_checked_at)} {domain.last_outcome}")
            out(f"  next check      {_when(domain.next_check_at)}   lease until {_when(domain.lease_expires_at)}")
            if domain.failing_since:
                out(f"  failing since   {_when(domain.failing_since)}   grace deadline {_when(domain.grace_deadline)}"
                    f"   days left {domain.days_left()}   reminders sent {domain.reminders_sent}")
            if domain.removed_at:
                out(f"  removed at      {_when(domain.removed_at)}: {domain.removal_reason}")
            out("  checks:")
            for check in domain.checks.all()[:checks]:
                out(f"    {_when(check.checked_at)} {check.trigger:<8} {check.outcome:<12} {check.detail}")
            out("  history:")
            events = AuditEvent.objects.filter(target_type="domain", target_id=str(domain.pk)).order_by("created_at", "pk")
            for event in events:
                out(f"    {_when(event.created_at)} {event.action:<28} by {event.actor_kind}"
                    f"{' ' + event.actor_user.email if event.actor_user else ''}")
