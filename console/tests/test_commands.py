"""Operator commands of the organizations app: create_organization."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from console.models import Organization, User


@pytest.mark.django_db
def test_create_organization_prints_what_it_did():
    out = StringIO()
    call_command("create_organization", "Acme", "boss@acme.test", "--password", "a-good-password-123", stdout=out)
    organization = Organization.objects.get(name="Acme")
    owner = User.objects.get(email="boss@acme.test")
    assert owner.membership.organization == organization and owner.membership.role == "owner"
    assert "Created organization 'Acme'" in out.getvalue() and "boss@acme.test" in out.getvalue()
    with pytest.raises(CommandError, match="already a managed user"):
        call_command("create_organization", "Another", "boss@acme.test", stdout=StringIO())


@pytest.mark.django_db
def test_create_organization_generates_and_prints_a_password_for_a_new_owner():
    out = StringIO()
    call_command("create_organization", "Initech", "peter@initech.test", stdout=out)
    password = out.getvalue().split("Password: ", 1)[1].split()[0]
    assert User.objects.get(email="peter@initech.test").check_password(password)
