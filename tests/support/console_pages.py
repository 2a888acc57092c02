"""Every Admin Center page, in a world that has something to show on each: the demo data, a
pending domain, a domain in re-validation, a ready import report. Used by the browser tests
that look at all pages (phone width, accessibility)."""

import base64
import io
from dataclasses import dataclass

from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from console import clock
from console.models import AuditEvent, Membership, Organization, OutboundEmail, User
from console.tests.factories import MembershipFactory
from domains.models import Domain
from domains.tests.factories import DomainCheckFactory, DomainFactory
from imports import services as import_services
from imports.models import ImportJob
from imports.services.notices import notice_reference
from sso.models import IdentityProvider
from webhooks import outbox, signing
from webhooks.models import Delivery, Endpoint, EndpointSecret


@dataclass
class ConsoleWorld:
    owner: User
    pages: list[tuple[str, str]]  # (name, path) of the pages an Owner sees
    public_pages: list[tuple[str, str]]  # (name, path) of the pages anyone sees


def build_console_world() -> ConsoleWorld:
    call_command("load_demo_data", stdout=io.StringIO())
    organization = Organization.objects.get(name="Example Corp")
    owner = User.objects.get(email="owner@example.com")
    verified = Domain.objects.get(organization=organization, name="example.com")
    pending = DomainFactory(organization=organization, name="pending.example", pending=True)
    DomainCheckFactory(domain=pending, outcome="not_found", detail="No TXT record at _twilio.pending.example.")
    lapsing = DomainFactory(organization=organization, name="lapsing.example", failing=True)
    import_services.grant_feature(organization=organization)
    job = import_services.create_report_job(domain=verified, actor=owner, enqueue=False)
    import_services.build_report(job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.REPORT_READY
    alice = Membership.objects.get(user__email="alice@example.com")
    invited = MembershipFactory(
        organization=organization,
        joined_via=Membership.JoinedVia.INVITED,
        user__email="invited.person@example.com",
        user__password=None,
    )
    # The import page shows its notices' delivery: one sent, one refused by the mail server.
    for n, (status, error) in enumerate(
        [(OutboundEmail.Status.SENT, ""), (OutboundEmail.Status.FAILED, "SMTPRecipientsRefused: 550 5.1.1 Unknown user")]
    ):
        OutboundEmail.objects.create(
            message_id=f"<notice-{n}@admin-center.invalid>", template="imports_notice",
            recipient=f"notice{n}@example.com", params={"job_id": job.pk}, reference=notice_reference(job.pk),
            status=status, last_error=error, failed_at=clock.now() if error else None,
        )
    event = AuditEvent.objects.filter(organization=organization).order_by("pk").first()
    endpoint = Endpoint.objects.create(
        organization=organization,
        url="https://hooks.example-incident-tool.com/services/admin-center/very/long/path/T0001/B0002",
        description="Incident tool",
        event_types=["domain.check_failed", "domain.expired"],
    )
    EndpointSecret.objects.create(endpoint=endpoint, secret=signing.new_secret())
    deliveries = outbox.write(
        organization_id=organization.pk, event_type="domain.check_failed", items=[{}, {}], endpoints=[endpoint]
    )
    Delivery.objects.filter(pk=deliveries[0].pk).update(
        status=Delivery.Status.DELIVERED, attempts=1, last_status_code=200, last_latency_ms=84
    )
    Delivery.objects.filter(pk=deliveries[1].pk).update(
        attempts=3,
        last_status_code=None,
        last_latency_ms=15000,
        last_error={"text": "%(host)s did not answer in time, so we stopped waiting.", "params": {"host": "hooks.example-incident-tool.com"}},
    )
    pages = [
        ("overview", reverse("console:home")),
        ("domains", reverse("domains:list")),
        ("domain-add", reverse("domains:add")),
        ("domain-verified", reverse("domains:detail", args=[verified.pk])),
        ("domain-pending-verify", reverse("domains:verify", args=[pending.pk])),
        ("domain-lapsing", reverse("domains:detail", args=[lapsing.pk])),
        ("domain-lapsing-verify", reverse("domains:verify", args=[lapsing.pk])),
        ("domain-delete", reverse("domains:delete", args=[pending.pk])),
        ("users", reverse("console:users")),
        ("user-add", reverse("members:add")),
        ("user-remove", reverse("console:user_remove", args=[alice.pk])),
        ("user-resend-invitation", reverse("console:user_resend_invitation", args=[invited.pk])),
        ("accounts", reverse("console:accounts")),
        ("audit", reverse("console:audit")),
        ("audit-event", reverse("console:audit_detail", args=[event.pk])),
        ("imports", reverse("imports:domain", args=[verified.pk])),
        ("report-confirm", reverse("imports:report_create", args=[verified.pk])),
        ("import-job", reverse("imports:job", args=[job.pk])),
        ("notify-confirm", reverse("imports:job_notify", args=[job.pk])),
        ("start-confirm", reverse("imports:job_start", args=[job.pk])),
        ("webhooks", reverse("webhooks:list")),
        ("webhook-add", reverse("webhooks:create")),
        ("webhook-endpoint", reverse("webhooks:detail", args=[endpoint.pk])),
        ("webhook-edit", reverse("webhooks:edit", args=[endpoint.pk])),
        ("webhook-rotate", reverse("webhooks:rotate", args=[endpoint.pk])),
        ("webhook-delete", reverse("webhooks:delete", args=[endpoint.pk])),
        ("password-change", reverse("console:password_change")),
        ("security", reverse("mfa:security")),
        ("totp-add", reverse("mfa:totp_add")),
        ("reauthenticate", reverse("mfa:reauthenticate")),
        ("two-factor-policy", reverse("mfa:policy")),
        ("recovery-codes-confirm", reverse("mfa:recovery_codes")),
    ]
    # SAML, the fuller settings page: the OIDC form shows too, and the IdP's metadata as read.
    IdentityProvider.objects.create(
        organization=organization,
        protocol=IdentityProvider.Protocol.SAML,
        issuer="https://idp.example.com/saml/metadata",
        saml_sso_url="https://idp.example.com/saml/sso",
        saml_sso_binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
        saml_certificates=[base64.b64encode(b"not a real certificate, only its fingerprint is shown").decode()],
        saml_metadata_url="https://idp.example.com/saml/metadata",
        saml_metadata_fetched_at=clock.now(),
    )
    pages += [
        ("sso-settings", reverse("sso:settings")),
        ("sso-require", reverse("sso:domain_requirement", args=[verified.pk])),
        ("sso-remove", reverse("sso:remove")),
    ]
    public_pages = [
        ("sign-in", reverse("console:login")),
        ("sso-start", reverse("sso:start")),
        ("sign-up", reverse("console:sign_up")),
        ("sign-up-done", reverse("console:sign_up_done")),
        ("password-reset", reverse("console:password_reset")),
        ("password-reset-sent", reverse("console:password_reset_done")),
        ("set-password-invalid", reverse("console:set_password", args=["xx", "bad-token"])),
        ("verify-email-invalid", reverse("console:verify_email", args=["bad-token"])),
    ]
    return ConsoleWorld(owner=owner, pages=pages, public_pages=public_pages)


def session_cookie(user, url: str) -> dict:
    """A signed-in session for the browser (the sign-in form itself is tested elsewhere)."""
    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url}


def language_cookie(language: str, url: str) -> dict:
    return {"name": "django_language", "value": language, "url": url}
