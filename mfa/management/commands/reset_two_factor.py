"""manage.py reset_two_factor user@example.com --reason "…" """

from django.core.management.base import BaseCommand, CommandError

from console.models import User, normalise_email
from mfa import services


class Command(BaseCommand):
    help = "Remove a user's second factors (authenticator app, security keys, recovery codes), after checking who they are."

    def add_arguments(self, parser):
        parser.add_argument("email", help="the user's e-mail address")
        parser.add_argument("--reason", required=True, help="why (kept in the audit log), e.g. the support ticket")

    def handle(self, *args, email, reason, **options):
        user = User.objects.filter(email__iexact=normalise_email(email)).first()
        if user is None:
            raise CommandError(f"No user {email}.")
        if not reason.strip():
            raise CommandError("Give the reason (e.g. the support ticket).")
        removed = services.reset_factors(user=user, reason=reason.strip())
        self.stdout.write(
            f"Removed the authenticator app ({removed['totp']}) and {removed['security_keys']} security key(s) "
            f"of {user.email}; their recovery codes no longer work. Two-factor authentication is off for them."
        )
