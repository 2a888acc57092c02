"""Every e-mail is a record sent by one task (console/emails.py), against a real SMTP server on
loopback: sent once with its Message-ID, in the recipient's language at send time; a refused
connection, a 4xx reply or a hung server is retried with back-off; a 5xx reply fails with the
reason; a record in another worker's hands is not sent twice; the sweep requeues what was lost;
a rolled-back change sends nothing. And the Users page's Resend invitation."""

from datetime import timedelta

import pytest
from celery import current_app
from django.db import transaction
from django.test import Client
from django.urls import reverse

from console import emails, services
from console.models import AuditEvent, Membership, OutboundEmail
from console.tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def invited(organization):
    return MembershipFactory(
        organization=organization,
        joined_via=Membership.JoinedVia.INVITED,
        user__email="new.person@example.com",
        user__password=None,
    )


def invite(membership, owner, capture):
    with capture(execute=True):
        services.send_invitation(membership.user, membership.organization, actor=owner)
    return OutboundEmail.objects.get(user=membership.user, template="console_invitation")


def test_an_invitation_is_sent_once_with_its_message_id_and_recorded_sent(
    smtp_settings, invited, owner, django_capture_on_commit_callbacks, clock
):
    record = invite(invited, owner, django_capture_on_commit_callbacks)
    record.refresh_from_db()
    assert record.status == OutboundEmail.Status.SENT and record.attempts == 1 and record.sent_at == clock.now()
    assert smtp_settings.message_ids() == {record.message_id: 1}
    body = smtp_settings.messages[0].get_payload()[0].get_payload(decode=True).decode()
    assert "/set-password/" in body or "set-password" in body
    assert "set_password_url" not in record.params and "token" not in str(record.params)  # no secret at rest
    # A repeated task finds nothing to do: the record is sent.
    current_app.tasks[emails.SEND_TASK].apply(args=([record.pk],))
    assert len(smtp_settings.messages) == 1


def test_rendered_at_send_time_in_the_language_the_recipient_has_then(
    smtp_settings, invited, owner, django_capture_on_commit_callbacks, settings
):
    settings.EMAIL_DELIVER_INLINE = False  # queued: the worker renders it later
    with django_capture_on_commit_callbacks(execute=True):
        services.send_invitation(invited.user, invited.organization, actor=owner)
    assert not smtp_settings.messages
    invited.user.language = "ja"
    invited.user.save()
    record = OutboundEmail.objects.get(user=invited.user)
    emails.deliver([record.pk])
    subject = str(smtp_settings.messages[0]["Subject"])
    assert "=?utf-8?" in subject.lower()  # a Japanese subject is encoded
    assert record.recipient == "new.person@example.com"


def test_a_refused_connection_is_retried_with_back_off_and_sent_once_the_server_is_back(
    smtp_settings, invited, owner, django_capture_on_commit_callbacks, clock, settings
):
    settings.EMAIL_RETRY_BACKOFF_SECONDS = 10
    smtp_settings.stop()
    record = invite(invited, owner, django_capture_on_commit_callbacks)
    record.refresh_from_db()
    assert record.status == OutboundEmail.Status.QUEUED and record.attempts == 1
    assert "Refused" in record.last_error or "refused" in record.last_error
    assert record.next_attempt_at == clock.now() + timedelta(seconds=10)
    assert emails.deliver([record.pk]).sent == 0  # not due yet: the back-off holds
    smtp_settings.start()
    clock.advance(timedelta(seconds=10))
    outcome = emails.deliver([record.pk])
    assert outcome.sent == 1
    record.refresh_from_db()
    assert record.status == OutboundEmail.Status.SENT and record.attempts == 2 and record.last_error == ""
    assert smtp_settings.message_ids() == {record.message_id: 1}


def test_the_back_off_doubles_and_the_record_fails_when_out_of_attempts(
    smtp_settings, invited, owner, django_capture_on_commit_callbacks, clock, settings
):
    settings.EMAIL_RETRY_BACKOFF_SECONDS = 10
    settings.EMAIL_MAX_ATTEMPTS = 3
    smtp_settings.reply_for("new.person@example.com", "451 4.3.0 Mailbox busy, try again later")
    record = invite(invited, owner, django_capture_on_commit_callbacks)
    delays = []
    for _attempt in range(2):
        record.refresh_from_db()
        assert record.status == OutboundEmail.Status.QUEUED
        delays.append((record.next_attempt_at - clock.now()).total_seconds())
        clock.advance(timedelta(seconds=delays[-1]))
        emails.deliver([record.pk])
    assert delays == [10, 20]
    record.refresh_from_db()
    assert record.status == OutboundEmail.Status.FAILED and record.attempts == 3
    assert "Gave up after 3 attempts" in record.last_error and "451" in record.last_error
    assert not smtp_settings.messages


def test_a_final_rejection_fails_at_once_with_the_servers_reason(
    smtp_settings, invited, owner, django_capture_on_commit_callbacks
):
    smtp_settings.reply_for("new.person@example.com", "550 5.1.1 No such mailbox here")
    record = invite(invited, owner, django_capture_on_commit_callbacks)
    record.refresh_from_db()
    assert record.status == OutboundEmail.Status.FAILED and record.attempts == 1
    assert "550" in record.last_error and "No such mailbox" in record.last_error


def test_a_hung_server_times_out_after_email_timeout_and_is_retried(
    smtp_settings, invited, owner, django_capture_on_commit_callbacks, settings, silent_tcp_port
):
    settings.EMAIL_PORT = silent_tcp_port
    settings.EMAIL_TIMEOUT = 0.5
    record = invite(invited, owner, django_capture_on_commit_callbacks)
    record.refresh_from_db()
    assert record.status == OutboundEmail.Status.QUEUED
    assert "timed out" in record.last_error.lower() or "Timeout" in record.last_error


def test_a_record_in_another_workers_hands_is_not_sent_twice_and_the_sweep_takes_it_back_after_its_lease(
    smtp_settings, invited, owner, django_capture_on_commit_callbacks, settings, clock
):
    settings.EMAIL_DELIVER_INLINE = False
    with django_capture_on_commit_callbacks(execute=True):
        record = emails.queue_to_user("console_added", user=invited.user, params={"organization": "Acme"})
    claimed = emails._claim([record.pk])  # a worker took it and died before sending
    assert claimed == [record.pk]
    assert emails.deliver([record.pk]).sent == 0  # a duplicate task keeps its hands off
    assert emails.requeue_overdue() == 0  # the lease still runs
    clock.advance(timedelta(seconds=settings.EMAIL_LEASE_SECONDS))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert emails.requeue_overdue() == 1
    assert len(callbacks) == 1  # one send task queued
    assert emails.deliver([record.pk]).sent == 1
    assert smtp_settings.message_ids() == {record.message_id: 1}


def test_the_sweep_requeues_a_record_whose_task_was_lost_only_after_the_grace(
    smtp_settings, invited, settings, clock, django_capture_on_commit_callbacks
):
    settings.EMAIL_DELIVER_INLINE = False
    with django_capture_on_commit_callbacks(execute=False):  # the broker never got it
        record = emails.queue_to_user("console_added", user=invited.user, params={"organization": "Acme"})
    assert emails.requeue_overdue() == 0
    clock.advance(timedelta(seconds=settings.EMAIL_REQUEUE_GRACE_SECONDS))
    settings.EMAIL_DELIVER_INLINE = True
    with django_capture_on_commit_callbacks(execute=True):
        assert emails.requeue_overdue() == 1
    record.refresh_from_db()
    assert record.status == OutboundEmail.Status.SENT
    assert smtp_settings.message_ids() == {record.message_id: 1}


def test_a_rolled_back_change_leaves_no_record_and_sends_nothing(
    smtp_settings, invited, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            services.send_invitation(invited.user, invited.organization, actor=owner)
            raise RuntimeError("the change failed")
    assert not OutboundEmail.objects.exists()
    assert not smtp_settings.messages


def test_an_optional_anymail_backend_records_the_providers_message_id(
    settings, invited, owner, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {}
    record = invite(invited, owner, django_capture_on_commit_callbacks)
    record.refresh_from_db()
    assert record.status == OutboundEmail.Status.SENT and record.provider_message_id


def test_every_task_has_a_soft_and_a_hard_time_limit():
    app = current_app
    app.loader.import_default_modules()
    ours = [task for name, task in app.tasks.items() if not name.startswith("celery.")]
    assert ours
    for task in ours:
        soft = task.soft_time_limit or app.conf.task_soft_time_limit
        hard = task.time_limit or app.conf.task_time_limit
        assert soft and hard and soft < hard, task.name


# --- Resend invitation (Users page) ---------------------------------------------------------


def test_resend_invitation_asks_to_confirm_then_sends_a_new_invitation_and_audits(
    smtp_settings, admin_client, invited, django_capture_on_commit_callbacks
):
    page = admin_client.get(reverse("console:users"))
    resend_url = reverse("console:user_resend_invitation", args=[invited.pk])
    assert resend_url in page.content.decode()
    confirm = admin_client.get(resend_url)
    assert confirm.status_code == 200 and "new.person@example.com" in confirm.content.decode()
    assert not smtp_settings.messages  # asking is not sending
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(resend_url)
    assert response.status_code == 302
    assert [m["To"] for m in smtp_settings.messages] == ["new.person@example.com"]
    event = AuditEvent.objects.get(action="user.invitation_resent")
    assert event.target_id == str(invited.user.pk) and event.actor_user.email == "owner@example.com"


def test_resend_invitation_is_rate_limited_per_recipient(
    smtp_settings, admin_client, invited, settings, django_capture_on_commit_callbacks
):
    settings.MAIL_RATE_PER_RECIPIENT = 2
    resend_url = reverse("console:user_resend_invitation", args=[invited.pk])
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            response = admin_client.post(resend_url, follow=True)
    assert "Too many e-mails" in response.content.decode()
    assert len(smtp_settings.messages) == 2
    assert AuditEvent.objects.filter(action="user.invitation_resent").count() == 2


def test_resend_invitation_is_refused_once_accepted_and_hidden_on_the_page(
    smtp_settings, admin_client, invited, django_capture_on_commit_callbacks
):
    invited.user.set_password("a-long-and-unusual-passphrase-42")
    invited.user.save()
    resend_url = reverse("console:user_resend_invitation", args=[invited.pk])
    assert resend_url not in admin_client.get(reverse("console:users")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(resend_url, follow=True)
    assert "already accepted the invitation" in response.content.decode()
    assert not smtp_settings.messages and not OutboundEmail.objects.exists()


def test_resend_invitation_is_404_for_another_organizations_user_and_needs_csrf(
    smtp_settings, owner, invited, django_capture_on_commit_callbacks
):
    other = MembershipFactory(
        organization=OrganizationFactory(name="Globex"),
        joined_via=Membership.JoinedVia.INVITED,
        user=UserFactory(email="someone@globex.test", password=None),
    )
    client = Client()
    client.force_login(owner)
    assert client.post(reverse("console:user_resend_invitation", args=[other.pk])).status_code == 404
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    assert strict.post(reverse("console:user_resend_invitation", args=[invited.pk])).status_code == 403
    assert not OutboundEmail.objects.exists()
