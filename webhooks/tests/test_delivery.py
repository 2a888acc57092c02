"""Delivery from the outbox to a real HTTPS receiver on loopback (trustme CA) that verifies
every request with the `standardwebhooks` library; retries driven by the project clock."""

import json
import time
from datetime import timedelta

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from console.errors import ConsoleError
from domains import services as domain_services
from webhooks import services
from webhooks.models import Delivery, DeliveryAttempt, Endpoint, Event
from webhooks.tests.conftest import HOST, PATH

pytestmark = pytest.mark.django_db


def add_domain(organization, name="acme-corp.org"):
    domain, _notes = domain_services.add_domain(organization=organization, text=name, actor=organization.admin)
    return domain


def test_an_event_arrives_signed_once_its_change_commits(clock, acme, hook, receiver, eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        domain = add_domain(acme)
    assert len(receiver.posts) == 1
    post = receiver.posts[0]
    assert post.verified is True and post.path == PATH
    payload = Webhook(hook.secret).verify(post.body, post.headers)
    assert payload["type"] == "domain.added" and payload["version"] == 1
    assert payload["data"]["domain"] == {"id": domain.pk, "name": "acme-corp.org", "unicode_name": "acme-corp.org", "status": "pending"}
    assert post.headers["webhook-id"] == payload["id"] == Event.objects.get().public_id
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 1
    assert delivery.last_status_code == 200 and delivery.last_latency_ms is not None


def test_a_rolled_back_change_sends_nothing(acme, hook, receiver, eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            add_domain(acme)
            raise RuntimeError("the request failed after the domain was added")
    assert Event.objects.count() == 0 and Delivery.objects.count() == 0
    assert receiver.posts == []


def test_nothing_is_lost_while_no_worker_runs(clock, acme, hook, receiver, django_capture_on_commit_callbacks):
    # No worker: the message goes to a broker nobody reads. The outbox row stays pending.
    with django_capture_on_commit_callbacks(execute=True):
        add_domain(acme)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 0 and receiver.posts == []
    # A worker comes back: the dispatcher finds what was never taken.
    from celery import current_app

    current_app.conf.task_always_eager = True
    try:
        # The queued message holds the row for its lease; then the dispatcher queues it again.
        with django_capture_on_commit_callbacks(execute=True):
            assert services.dispatch_due() == 0
        clock.advance(timedelta(seconds=64))
        with django_capture_on_commit_callbacks(execute=True):
            assert services.dispatch_due() == 1
    finally:
        current_app.conf.task_always_eager = False
    assert Delivery.objects.get().status == Delivery.Status.DELIVERED
    assert [post.verified for post in receiver.posts] == [True]


def test_an_endpoint_only_gets_the_event_types_it_chose(acme, receiver, eager, django_capture_on_commit_callbacks):
    endpoint, secret = services.create_endpoint(
        organization=acme, url=receiver.url_for_hooks, description="", event_types=["member.removed"], enabled=True, actor=acme.admin
    )
    with django_capture_on_commit_callbacks(execute=True):
        add_domain(acme)
    assert Event.objects.count() == 0 and receiver.posts == []


def test_failures_are_retried_with_exponential_back_off_on_the_project_clock(
    clock, acme, hook, receiver, eager, django_capture_on_commit_callbacks
):
    receiver.answer_sequence(HOST, PATH, [500, 500, 503, 200])
    start = clock.now()
    with django_capture_on_commit_callbacks(execute=True):
        add_domain(acme)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING and delivery.last_status_code == 500
    assert delivery.next_attempt_at == start + timedelta(seconds=30)

    # Not yet due: the dispatcher sends nothing.
    clock.advance(timedelta(seconds=29))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.dispatch_due() == 0
    for wait in (1, 60, 120):
        clock.advance(timedelta(seconds=wait))
        with django_capture_on_commit_callbacks(execute=True):
            assert services.dispatch_due() == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 4
    attempts = list(DeliveryAttempt.objects.filter(delivery=delivery))
    offsets = [(a.attempted_at - start).total_seconds() for a in attempts]
    assert offsets == [0, 30, 90, 210]  # 30 s, then doubling
    assert [a.status_code for a in attempts] == [500, 500, 503, 200]
    ids = {post.headers["webhook-id"] for post in receiver.posts}
    assert len(ids) == 1 and all(post.verified for post in receiver.posts)  # the same message each time


def test_the_back_off_is_capped_and_gives_up_after_three_days(settings):
    assert services.retry_delay(1) == timedelta(seconds=30)
    assert services.retry_delay(5) == timedelta(seconds=480)
    assert services.retry_delay(30) == timedelta(hours=12)
    schedule, elapsed, attempt = [], timedelta(0), 1
    while elapsed < timedelta(hours=settings.WEBHOOK_RETRY_FOR_HOURS):
        elapsed += services.retry_delay(attempt)
        schedule.append(elapsed)
        attempt += 1
    assert 12 <= len(schedule) <= 20


def test_a_delivery_older_than_three_days_has_failed(clock, acme, hook, receiver, eager, django_capture_on_commit_callbacks):
    receiver.answer_sequence(HOST, PATH, [500])
    with django_capture_on_commit_callbacks(execute=True):
        add_domain(acme)
    clock.advance(timedelta(hours=72))
    with django_capture_on_commit_callbacks(execute=True):
        services.dispatch_due()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED and delivery.next_attempt_at is None


def test_an_endpoint_failing_for_five_days_is_disabled_and_the_admins_told(
    clock, acme, hook, receiver, eager, django_capture_on_commit_callbacks, mailoutbox
):
    receiver.answer_sequence(HOST, PATH, [500])
    with django_capture_on_commit_callbacks(execute=True):
        add_domain(acme, "first.org")
    assert Endpoint.objects.get().failing_since == clock.now()
    clock.advance(timedelta(days=5))
    with django_capture_on_commit_callbacks(execute=True):
        add_domain(acme, "second.org")
    endpoint = Endpoint.objects.get()
    assert not endpoint.enabled and endpoint.disabled_at == clock.now()
    assert [m.to for m in mailoutbox] == [["owner@acme.test"]]
    assert endpoint.url in mailoutbox[0].body
    # Nothing more is sent to a disabled endpoint.
    posts = len(receiver.posts)
    with django_capture_on_commit_callbacks(execute=True):
        add_domain(acme, "third.org")
        services.dispatch_due()
    assert len(receiver.posts) == posts


def test_a_success_clears_the_failure_record(clock, acme, hook, receiver, eager, django_capture_on_commit_callbacks):
    receiver.answer_sequence(HOST, PATH, [500, 200])
    with django_capture_on_commit_callbacks(execute=True):
        add_domain(acme)
    assert Endpoint.objects.get().failing_since is not None
    clock.advance(timedelta(seconds=30))
    with django_capture_on_commit_callbacks(execute=True):
        services.dispatch_due()
    assert Endpoint.objects.get().failing_since is None


def test_a_hanging_receiver_does_not_hold_the_worker_past_the_deadline(
    clock, acme, hook, receiver, eager, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_DELIVERY_DEADLINE_SECONDS = 1.0
    receiver.hang(HOST, PATH)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        add_domain(acme)
    elapsed = time.monotonic() - started
    assert elapsed < 4, f"the attempt took {elapsed:.1f}s"
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING and delivery.last_status_code is None
    assert "did not answer in time" in delivery.last_error["text"]


def test_a_duplicate_or_late_message_does_nothing(clock, acme, hook, receiver, eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        add_domain(acme)
    delivery = Delivery.objects.get()
    first_due = delivery.created_at + timedelta(seconds=63)  # the lease the first message carried
    assert services.attempt(delivery.pk, first_due) is None
    assert len(receiver.posts) == 1


def test_rotation_signs_with_both_secrets_during_the_overlap(clock, acme, hook, receiver, eager, django_capture_on_commit_callbacks):
    new_secret = services.rotate_secret(endpoint=hook, actor=acme.admin)
    assert new_secret != hook.secret
    receiver.verify_with(HOST, new_secret)
    with django_capture_on_commit_callbacks(execute=True):
        add_domain(acme, "one.org")
    receiver.verify_with(HOST, hook.secret)
    with django_capture_on_commit_callbacks(execute=True):
        add_domain(acme, "two.org")
    assert [post.verified for post in receiver.posts] == [True, True]
    assert len(receiver.posts[0].headers["webhook-signature"].split(" ")) == 2
    # After the overlap the old secret no longer signs.
    clock.advance(timedelta(hours=25))
    with django_capture_on_commit_callbacks(execute=True):
        add_domain(acme, "three.org")
    assert receiver.posts[-1].verified is False
    assert len(receiver.posts[-1].headers["webhook-signature"].split(" ")) == 1


def test_redeliver_sends_the_same_message_again(clock, acme, hook, receiver, eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        add_domain(acme)
    delivery = Delivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.redeliver(delivery=delivery, actor=acme.admin)
    assert len(receiver.posts) == 2
    assert receiver.posts[0].headers["webhook-id"] == receiver.posts[1].headers["webhook-id"]
    assert json.loads(receiver.posts[1].body)["type"] == "domain.added"
    assert Delivery.objects.get().attempts == 2


def test_a_test_event_goes_to_that_endpoint_only(acme, hook, receiver, eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.send_test_event(endpoint=hook, actor=acme.admin)
    assert json.loads(receiver.posts[0].body)["type"] == "webhook.test"
    assert receiver.posts[0].verified is True


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("10.0.0.5", "private network"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("192.168.1.1", "private network"),
    ],
)
def test_special_purpose_addresses_are_refused_at_save_time(acme, receiver, address, why):
    receiver.dns.set_a("internal.test", address)
    with pytest.raises(ConsoleError) as refused:
        services.create_endpoint(
            organization=acme, url="https://internal.test/hook", description="", event_types=[], enabled=True, actor=acme.admin
        )
    assert refused.value.code == "address_refused" and why in refused.value.message
    assert Endpoint.objects.count() == 0


def test_loopback_is_refused_unless_tests_allow_it(acme, receiver, settings):
    settings.HTTPS_ALLOW_LOOPBACK = False
    with pytest.raises(ConsoleError) as refused:
        services.create_endpoint(
            organization=acme, url=receiver.url_for_hooks, description="", event_types=[], enabled=True, actor=acme.admin
        )
    assert "loopback" in refused.value.message


@pytest.mark.parametrize("url", ["http://hooks.test/x", "ftp://hooks.test/", "https://user:pw@hooks.test/", "hooks.test", ""])
def test_only_plain_https_addresses_are_accepted(acme, receiver, url):
    with pytest.raises(ConsoleError):
        services.create_endpoint(organization=acme, url=url, description="", event_types=[], enabled=True, actor=acme.admin)
    assert Endpoint.objects.count() == 0


def test_an_address_that_turns_private_later_is_refused_at_delivery_time(
    acme, hook, receiver, eager, django_capture_on_commit_callbacks
):
    receiver.dns.set_a(HOST, "169.254.169.254")  # the DNS answer changes after the endpoint was saved
    with django_capture_on_commit_callbacks(execute=True):
        add_domain(acme)
    assert receiver.posts == []
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert "special-purpose" in delivery.last_error["text"] and delivery.last_error["params"]["address"] == "169.254.169.254"


def test_redirects_are_not_followed(acme, hook, receiver, eager, django_capture_on_commit_callbacks):
    receiver.answer_sequence(HOST, PATH, [307])
    with django_capture_on_commit_callbacks(execute=True):
        add_domain(acme)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING and delivery.last_status_code == 307
    assert len(receiver.posts) == 1
