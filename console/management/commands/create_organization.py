"""manage.py create_organization "Name" owner@example.com [--password ...]"""

import secrets

from django.core.management.base import BaseCommand, CommandError

from console.errors import ConsoleError
from console.models import User
from console.services import create_organization


class Command(BaseCommand):
    help = "Create an organization with its Owner (a new user, or an existing independent user)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the organization's name")
        parser.add_argument("owner_email", help="the Owner's e-mail address")
        parser.add_argument(
            "--password",
            help="password for the Owner; a random one is generated and printed for a new user when omitted",
        )

    def handle(self, *args, name, owner_email, password=None, **options):
        generated = False
        if password is None:
            if not User.objects.filter(email__iexact=owner_email.strip()).exists():
                password, generated = secrets.token_urlsafe(12), True
        try:
            organization, owner, created = create_organization(name=name, owner_email=owner_email, password=password)
        except ConsoleError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Created organization {organization.name!r} (id {organization.pk}).")
        if created:
            self.stdout.write(f"Created user {owner.email} as its Owner.")
        else:
            self.stdout.write(f"Made the existing user {owner.email} its Owner.")
        if generated:
            self.stdout.write(f"Password: {password}")
        elif password:
            self.stdout.write("Password set as given.")
