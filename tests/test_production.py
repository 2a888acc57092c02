"""Production shape: deploy checks, health, metrics, rate limits."""

import os
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from console import ratelimit
from console.models import TaskHeartbeat, User

ROOT = Path(__file__).resolve().parent.parent


def test_check_deploy_is_clean_with_production_settings():
    env = {
        **os.environ,
        "PRODUCTION": "1",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "admin.example.com",
        "DATABASE_URL": "sqlite:////tmp/deploy-check.sqlite3",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    }
    result = _check_deploy(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def _check_deploy(env):
    env = dict(env)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by conftest for Playwright; never in production
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_fails_in_production_with_a_per_process_cache_or_the_filesystem_broker():
    env = {
        **os.environ,
        "PRODUCTION": "1",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "admin.example.com",
        "DATABASE_URL": "sqlite:////tmp/deploy-check.sqlite3",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "filesystem://",
    }
    result = _check_deploy(env)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "admin_center.E001" in output and "REDIS_URL" in output
    assert "admin_center.E002" in output and "CELERY_BROKER_URL" in output


def test_without_debug_the_process_refuses_to_start_without_its_own_secret_key():
    for extra in ({}, {"SECRET_KEY": ""}, {"SECRET_KEY": "insecure-dev-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"}):
        env = {**os.environ, "DEBUG": "0", **extra}
        if not extra:
            env.pop("SECRET_KEY", None)
        result = subprocess.run(
            [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode != 0
        assert "SECRET_KEY is not set" in result.stderr
    development = {**os.environ, "DEBUG": "1"}
    development.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=development, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_a_link_forged_with_the_development_key_is_refused(client):
    """A verification link signed with the public development key verifies nobody."""
    from django.core import signing
    from django.urls import reverse

    from console.registration import EMAIL_VERIFICATION_SALT, ClockTimestampSigner

    user = User.objects.create_user("outsider@corp.test", password="x-Secret-123", email_verified=False)
    forged = ClockTimestampSigner(
        key="insecure-dev-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz", salt=EMAIL_VERIFICATION_SALT
    ).sign(f"{user.pk}:{user.email}")
    response = client.post(reverse("console:verify_email", args=[forged]))
    assert response.status_code == 400
    user.refresh_from_db()
    assert not user.email_verified
    assert isinstance(signing, object)


def test_production_refuses_the_development_secret_key():
    env = {**os.environ, "PRODUCTION": "1", "DEBUG": "0"}
    env.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_health_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "cache": "ok"}


@pytest.mark.django_db
def test_health_is_503_when_the_broker_is_unreachable(client):
    from celery import current_app as app

    # Health checks the connection producers use (broker_write_url); nothing listens on port 1.
    # Restoring to None brings back the fallback to broker_url, so later tests see no change.
    app.conf.broker_write_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_write_url = None
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["database"] == "ok" and body["broker"] != "ok"


@pytest.mark.django_db
def test_metrics_need_staff_or_token(client, settings):
    assert client.get("/metrics").status_code == 403
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200


@pytest.mark.django_db
def test_metrics_expose_domains_checks_and_lag(client, clock):
    from console.models import Organization
    from domains.models import Domain, DomainCheck

    organization = Organization.objects.create(name="Metrics Org")
    due = Domain.objects.create(
        organization=organization, name="due.example.org", unicode_name="due.example.org",
        status=Domain.Status.VERIFIED, next_check_at=clock.now() - timedelta(minutes=5),
    )
    Domain.objects.create(organization=organization, name="later.example.org", unicode_name="later.example.org")
    DomainCheck.objects.create(domain=due, method="dns", outcome="verified", detail="ok", trigger="schedule")
    DomainCheck.objects.create(domain=due, method="dns", outcome="inconclusive", detail="timeout", trigger="schedule")
    TaskHeartbeat.objects.create(name="dispatcher", last_run_at=clock.now())
    staff = User.objects.create_user("ops@example.org", "pw-123456789", is_staff=True)
    client.force_login(staff)
    text = client.get("/metrics").content.decode()
    assert 'admin_center_domain_checks_total{outcome="verified"} 1' in text
    assert 'admin_center_domain_checks_total{outcome="inconclusive"} 1' in text
    assert 'admin_center_domains{status="verified"} 1' in text
    assert 'admin_center_domains{status="pending"} 1' in text
    assert "admin_center_check_queue_lag_seconds 300.000" in text
    assert f'admin_center_task_last_run_timestamp_seconds{{task="dispatcher"}} {clock.now().timestamp():.3f}' in text


def test_rate_limit_refuses_past_the_limit_and_reopens_next_window(clock):
    key = f"test:{secrets.token_hex(4)}"
    for _ in range(3):
        assert ratelimit.hit(key, limit=3, window_seconds=600).allowed
    refused = ratelimit.hit(key, limit=3, window_seconds=600)
    assert not refused.allowed
    assert 0 < refused.retry_after_seconds <= 600
    assert refused.remaining == 0 and refused.reset_seconds == refused.retry_after_seconds
    clock.advance(timedelta(seconds=refused.retry_after_seconds))
    assert ratelimit.hit(key, limit=3, window_seconds=600).allowed


def test_a_hit_says_how_many_remain_in_the_window_and_when_it_ends(clock):
    key = f"test:{secrets.token_hex(4)}"
    first = ratelimit.hit(key, limit=3, window_seconds=600)
    second = ratelimit.hit(key, limit=3, window_seconds=600)
    assert (first.remaining, second.remaining) == (2, 1)
    assert 0 < second.reset_seconds <= 600


def test_acquire_spends_nothing_when_one_limit_is_full(clock):
    full, fresh = f"full:{secrets.token_hex(4)}", f"fresh:{secrets.token_hex(4)}"
    ratelimit.hit(full, limit=1, window_seconds=60)
    state = ratelimit.acquire([(fresh, 5, 60), (full, 1, 60)])
    assert not state.allowed
    assert ratelimit.peek(fresh, limit=1, window_seconds=60).allowed  # nothing was counted on `fresh`


@pytest.mark.django_db
def test_content_security_policy_forbids_inline_script(client):
    response = client.get("/sign-in/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert b"<script>" not in response.content and b"onclick=" not in response.content


@pytest.mark.django_db
def test_verify_now_is_rate_limited_per_domain_with_a_retry_time(clock, settings, dns_server, dns_settings):
    from console.errors import ConsoleError
    from console.models import Organization
    from domains import services
    from domains.models import Domain, DomainCheck

    settings.VERIFY_RATE_PER_DOMAIN = 3
    organization = Organization.objects.create(name="Rate Org")
    admin = User.objects.create_user("rate-admin@example.org", "pw-123456789")
    domain = Domain.objects.create(organization=organization, name="rate.test", unicode_name="rate.test")
    for _ in range(3):
        services.verify_now(domain=domain, actor=admin)
    with pytest.raises(ConsoleError) as refused:
        services.verify_now(domain=domain, actor=admin)
    assert refused.value.code == "rate_limited"
    assert "Try again in 10 minutes" in refused.value.message
    assert 540 < refused.value.retry_after_seconds <= 600  # for callers that answer with Retry-After
    assert DomainCheck.objects.filter(domain=domain).count() == 3  # the refused click checked nothing
    clock.advance(timedelta(minutes=10))
    assert services.verify_now(domain=domain, actor=admin)[1] is not None


@pytest.mark.django_db
def test_verify_now_is_rate_limited_per_organization(clock, settings, dns_server, dns_settings):
    from console.errors import ConsoleError
    from console.models import Organization
    from domains import services
    from domains.models import Domain

    settings.VERIFY_RATE_PER_ORGANIZATION = 2
    organization = Organization.objects.create(name="Busy Org")
    admin = User.objects.create_user("busy-admin@example.org", "pw-123456789")
    domains = [
        Domain.objects.create(organization=organization, name=f"d{i}.test", unicode_name=f"d{i}.test") for i in range(3)
    ]
    services.verify_now(domain=domains[0], actor=admin)
    services.verify_now(domain=domains[1], actor=admin)
    with pytest.raises(ConsoleError, match="Try again in"):
        services.verify_now(domain=domains[2], actor=admin)
    # Another organization is not affected.
    other = Organization.objects.create(name="Calm Org")
    calm = Domain.objects.create(organization=other, name="calm.test", unicode_name="calm.test")
    assert services.verify_now(domain=calm, actor=admin)[1] is not None


@pytest.mark.django_db
def test_switching_language_is_remembered_for_emails(client):
    user = User.objects.create_user("polyglot@example.org", "pw-123456789")
    client.force_login(user)
    response = client.post("/i18n/setlang/", {"language": "ja", "next": "/"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "ja"
    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    user.refresh_from_db()
    assert user.language == "ja"  # an unknown language changes nothing


@pytest.mark.django_db
def test_users_section_shows_the_countdown_of_a_lapsing_domain(client, clock):
    from console.models import Membership, Organization
    from domains.models import Domain

    organization = Organization.objects.create(name="Lapsing Org")
    owner = User.objects.create_user("owner@lapsing.example", "pw-123456789")
    Membership.objects.create(user=owner, organization=organization, role=Membership.Role.OWNER)
    Domain.objects.create(
        organization=organization, name="lapsing.example", unicode_name="lapsing.example",
        status=Domain.Status.REVALIDATION_REQUIRED, failing_since=clock.now(),
        grace_deadline=clock.now() + timedelta(days=12, hours=3),
    )
    client.force_login(owner)
    text = client.get("/users/").content.decode()
    assert "lapsing.example" in text and "Re-validate within 13 days (by 17 Jan 2026, 12:00 UTC)" in text
    assert "will be removed from the organization on 17 Jan 2026, 12:00 UTC" in text
