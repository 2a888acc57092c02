"""The notice e-mails of an import, through a real SMTP server on loopback: the job page counts
them from their records (delivered, waiting, failed) and lists the failed ones with the server's
answer; an SMTP outage during the notice leaves them waiting, and they go out once it is over."""

from datetime import timedelta

import pytest
from django.urls import reverse

from console import emails
from console.models import OutboundEmail
from imports import services
from imports.services.notices import notice_reference
from imports.tests.test_import_services import ready_report

pytestmark = pytest.mark.django_db


def notify(world, capture):
    job = ready_report(world)
    services.notify_eligible(job=job, actor=world.admin, enqueue=False)
    with capture(execute=True):
        assert services.send_notices(job.pk) == 2
    return job


def test_failed_notices_are_shown_with_the_reason_and_counted_from_the_records(
    world, people, admin_client, smtp_settings, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    smtp_settings.reply_for("bob@example.com", "550 5.1.1 Unknown user bob")
    job = notify(world, django_capture_on_commit_callbacks)
    assert [m["To"] for m in smtp_settings.messages] == ["alice@example.com"]
    records = OutboundEmail.objects.filter(reference=notice_reference(job.pk))
    assert dict(records.values_list("recipient", "status")) == {
        "alice@example.com": "sent",
        "bob@example.com": "failed",
    }
    with django_assert_max_num_queries(30):
        page = admin_client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "1 delivered to the mail server" in page
    assert "1 could not be delivered" in page
    assert "bob@example.com" in page and "Unknown user bob" in page


def test_an_smtp_outage_during_the_notice_leaves_it_waiting_then_it_is_delivered_once(
    world, people, admin_client, smtp_settings, django_capture_on_commit_callbacks, clock
):
    smtp_settings.stop()
    job = notify(world, django_capture_on_commit_callbacks)
    records = OutboundEmail.objects.filter(reference=notice_reference(job.pk))
    assert set(records.values_list("status", flat=True)) == {"queued"}
    assert all("refused" in r.last_error.lower() for r in records)
    page = admin_client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "2 waiting to be sent (retried automatically)" in page
    smtp_settings.start()
    clock.advance(timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert emails.requeue_overdue() == 2
    assert set(records.values_list("status", flat=True)) == {"sent"}
    assert sorted(smtp_settings.message_ids().values()) == [1, 1]
    page = admin_client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "2 delivered to the mail server" in page and "waiting" not in page


def test_another_organizations_job_page_is_404(world, people, client, smtp_settings, django_capture_on_commit_callbacks):
    from console.tests.factories import MembershipFactory, OrganizationFactory

    job = notify(world, django_capture_on_commit_callbacks)
    stranger = MembershipFactory(organization=OrganizationFactory(name="Globex"), role="owner").user
    client.force_login(stranger)
    assert client.get(reverse("imports:job", args=[job.pk])).status_code == 404
