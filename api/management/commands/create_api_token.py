"""Create an organization API token as an operator; prints only the token (for scripts)."""

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from api import tokens
from api.models import Scope
from console.errors import ConsoleError
from console.models import Membership, Organization, User


class Command(BaseCommand):
    help = (
        "Create an API token for an organization and print it (only the token). The token acts for "
        "--acts-for (default: the organization's first Owner) and works while that person is an Owner "
        "or Administrator."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True, help="The organization's exact name.")
        parser.add_argument(
            "--scopes", required=True, nargs="+", help=f"Space- or comma-separated: {', '.join(Scope.values)}"
        )
        parser.add_argument("--name", default="Operator token")
        parser.add_argument("--acts-for", default="", help="E-mail of an Owner or Administrator.")
        parser.add_argument("--expires", default="", help="Expiry as an ISO date-time (UTC if no zone).")

    def handle(self, *args, organization, scopes, name, acts_for, expires, **options):
        matches = list(Organization.objects.filter(name=organization)[:2])
        if len(matches) != 1:
            raise CommandError(f"{'No' if not matches else 'More than one'} organization is named {organization!r}.")
        org = matches[0]
        if acts_for:
            person = User.objects.filter(email__iexact=acts_for.strip()).first()
            if person is None:
                raise CommandError(f"No user {acts_for!r}.")
        else:
            owner = (
                Membership.objects.filter(organization=org, role=Membership.Role.OWNER)
                .select_related("user")
                .order_by("joined_at", "pk")
                .first()
            )
            if owner is None:
                raise CommandError(f"{org.name} has no Owner; pass --acts-for.")
            person = owner.user
        expires_at = None
        if expires:
            try:
                expires_at = datetime.fromisoformat(expires)
            except ValueError as error:
                raise CommandError(f"--expires: not an ISO date-time: {expires!r}") from error
            if expires_at.tzinfo is None:
                expires_at = expires_at.replace(tzinfo=UTC)
        wanted = [part for scope in scopes for part in scope.replace(",", " ").split()]
        try:
            _token, secret = tokens.create_token(
                organization=org, name=name, scopes=wanted, created_by=person, expires_at=expires_at, actor=None
            )
        except ConsoleError as error:
            raise CommandError(str(error.message)) from error
        self.stdout.write(secret)
