"""Run domain checks now: every due domain (claimed like the dispatcher does), or one by name."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from domains import lifecycle, scheduler
from domains.checking import check_domain
from domains.models import Domain, DomainCheck
from domains.normalize import ascii_name


class Command(BaseCommand):
    help = "Check all domains due now (or --domain NAME now, whatever its schedule) and print each outcome."

    def add_arguments(self, parser):
        parser.add_argument("--domain", help="check this domain now (every organization's active row of it)")

    def handle(self, *args, domain=None, **options):
        if domain:
            return self._check_named(domain)
        total = 0
        while True:
            claims = scheduler.claim_due_domains(limit=settings.DOMAIN_DISPATCH_BATCH_SIZE)
            if not claims:
                break
            for claim in claims:
                applied = scheduler.run_one(claim, trigger=DomainCheck.Trigger.OPERATOR)
                self._print(Domain.objects.get(pk=claim.domain_id), applied)
                total += 1
        self.stdout.write(f"{total} due domain(s) checked.")

    def _check_named(self, text):
        name = ascii_name(text)
        rows = list(Domain.objects.active().filter(name=name).select_related("organization"))
        if not rows:
            raise CommandError(f"No active domain named {name}.")
        for row in rows:
            result = check_domain(row, deadline_seconds=settings.BACKGROUND_CHECK_DEADLINE_SECONDS)
            applied = lifecycle.apply_check_result(domain_id=row.pk, result=result, trigger=DomainCheck.Trigger.OPERATOR)
            row.refresh_from_db()
            self._print(row, applied)

    def _print(self, domain, applied):
        if applied is None:
            self.stdout.write(f"{domain.name} [{domain.organization_id}] skipped (already checked for this due time)")
            return
        check = applied.check
        self.stdout.write(
            f"{domain.name} [org {domain.organization_id}] {check.outcome}: {check.detail} -> {domain.status}"
            + (f", next check {domain.next_check_at:%Y-%m-%d %H:%M} UTC" if domain.next_check_at else "")
        )
