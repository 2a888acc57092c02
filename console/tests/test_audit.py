"""Audit rows name their actor; a delegate (an API token) acting for a user is named too."""

import pytest

from console import audit
from console.models import AuditEvent
from console.tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_rows_written_through_a_delegate_name_it_and_the_user_it_acts_for():
    organization, user = OrganizationFactory(), UserFactory()
    with audit.acting_through(actor_kind=AuditEvent.ActorKind.TOKEN, detail={"token": {"id": 7, "name": "CI"}}):
        event = audit.record("domain.added", organization=organization, actor=user, detail={"name": "a.test"})
    assert event.actor_kind == AuditEvent.ActorKind.TOKEN
    assert event.actor_user == user
    assert event.detail == {"name": "a.test", "token": {"id": 7, "name": "CI"}}


def test_rows_of_another_kind_and_rows_after_the_block_are_unchanged():
    organization, user = OrganizationFactory(), UserFactory()
    with audit.acting_through(actor_kind=AuditEvent.ActorKind.TOKEN, detail={"token": {"id": 7}}):
        system = audit.record("imports.report_ready", organization=organization, actor_kind=AuditEvent.ActorKind.SYSTEM)
    after = audit.record("domain.added", organization=organization, actor=user)
    assert system.actor_kind == AuditEvent.ActorKind.SYSTEM and "token" not in system.detail
    assert after.actor_kind == AuditEvent.ActorKind.USER and after.detail == {}


def test_the_delegate_is_forgotten_even_when_the_block_raises():
    user = UserFactory()
    with pytest.raises(RuntimeError), audit.acting_through(actor_kind=AuditEvent.ActorKind.TOKEN, detail={}):
        raise RuntimeError
    assert audit.record("x.y", actor=user).actor_kind == AuditEvent.ActorKind.USER
