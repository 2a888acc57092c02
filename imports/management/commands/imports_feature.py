"""Grant or revoke Bulk User Import: `manage.py imports_feature grant|revoke <organization id or name>`."""

from django.core.management.base import BaseCommand, CommandError

from console.models import AuditEvent, Organization
from imports import services


def find_organization(value: str) -> Organization:
    if value.isdigit():
        organization = Organization.objects.filter(pk=int(value)).first()
        if organization:
            return organization
    matches = list(Organization.objects.filter(name__iexact=value)[:2])
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise CommandError(f"More than one organization is named {value!r}; use its id.")
    raise CommandError(f"No organization with id or name {value!r}.")


class Command(BaseCommand):
    help = "Grant or revoke the Bulk User Import feature for an organization."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["grant", "revoke"])
        parser.add_argument("organization", help="organization id or exact name")

    def handle(self, *args, action, organization, **options):
        org = find_organization(organization)
        function = services.grant_feature if action == "grant" else services.revoke_feature
        changed = function(organization=org, actor=None, actor_kind=AuditEvent.ActorKind.OPERATOR)
        if changed:
            verb = "granted to" if action == "grant" else "revoked from"
            self.stdout.write(self.style.SUCCESS(f"Bulk User Import {verb} {org.name} (id {org.pk})."))
        else:
            state = "already enabled for" if action == "grant" else "not enabled for"
            self.stdout.write(f"Nothing to do: Bulk User Import is {state} {org.name} (id {org.pk}).")
