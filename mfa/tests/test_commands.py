from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from console.models import AuditEvent
from mfa.models import RecoveryCode, TotpDevice
from mfa.tests.conftest import enrol_totp

pytestmark = pytest.mark.django_db


def test_an_operator_resets_a_locked_out_users_factors(clock, admin_client, owner):
    enrol_totp(admin_client)
    out = StringIO()
    call_command("reset_two_factor", "OWNER@example.com", "--reason", "ticket 42", stdout=out)
    assert "Two-factor authentication is off" in out.getvalue()
    owner.refresh_from_db()
    assert not owner.two_factor_enabled
    assert not TotpDevice.objects.filter(user=owner).exists() and not RecoveryCode.objects.filter(user=owner).exists()
    event = AuditEvent.objects.get(action="mfa.factors_reset")
    assert event.actor_kind == "operator" and event.detail["reason"] == "ticket 42"


def test_an_unknown_user_or_no_reason_is_refused(clock, owner):
    with pytest.raises(CommandError):
        call_command("reset_two_factor", "nobody@example.com", "--reason", "x")
    with pytest.raises(CommandError):
        call_command("reset_two_factor", owner.email, "--reason", "  ")
    assert not AuditEvent.objects.filter(action="mfa.factors_reset").exists()
