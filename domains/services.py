"""Writes for the Domains section: add, choose a method, verify now, change settings, delete.

Each service refuses an illegal action with console.errors.ConsoleError (a message for
people), changes state in one transaction and writes its AuditEvent with the actor. Every
write of a domain row goes through Domain.objects.write_state. What a check result does to a
domain lives in domains/lifecycle.py; `verify_now` only runs the check and hands it over.
"""

import enum
import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from console import audit, clock, events, ratelimit
from console.errors import ConsoleError
from console.models import Organization
from domains import checking, lifecycle
from domains.models import Domain, DomainCheck
from domains.normalize import DomainNameError, is_public_suffix, normalize_domain
from domains.rules import FIRST_BACKGROUND_CHECK_AFTER


class DomainAlreadyAdded(ConsoleError):
    """The organization already lists this name; `domain` is that row, so the page can link to it."""

    def __init__(self, message, *, domain: Domain):
        super().__init__(message, code="duplicate")
        self.domain = domain


class WebAddressProposal(ConsoleError):
    """A pasted web address whose host starts with "www.": e-mail addresses use the name
    without it, so that is proposed instead of silently adding the www. name. `proposed` and
    `typed` are the two names (Unicode) the admin chooses between; entering either as a plain
    name adds it."""

    def __init__(self, message, *, proposed: str, typed: str):
        super().__init__(message, code="web_address_www")
        self.proposed = proposed
        self.typed = typed


_WEB_ADDRESS_RE = re.compile(r"^\s*(?:[a-z][a-z0-9+.\-]*:)?//|/", re.IGNORECASE)


def _propose_without_www(text: str, normalized) -> None:
    """Refuse a web address at www.<name> with a proposal of <name> (see WebAddressProposal)."""
    if not normalized.ascii.startswith("www.") or not _WEB_ADDRESS_RE.search(text or ""):
        return
    bare = normalized.ascii[len("www.") :]
    if "." not in bare or is_public_suffix(bare):
        return
    try:
        proposed = normalize_domain(bare)
    except DomainNameError:
        return
    raise WebAddressProposal(
        _(
            "You entered a web address at %(typed)s. E-mail addresses usually use %(proposed)s, "
            "which also covers www: add %(proposed)s, or enter %(typed)s on its own to keep it."
        )
        % {"typed": normalized.unicode or normalized.ascii, "proposed": proposed.unicode or proposed.ascii},
        proposed=proposed.unicode or proposed.ascii,
        typed=normalized.unicode or normalized.ascii,
    )


def held_elsewhere_message() -> str:
    # Never names the other organization.
    return _("This domain has been verified by another organization. If you own it, contact support.")


def _normalize(text: str):
    try:
        return normalize_domain(text)
    except DomainNameError as error:
        message = getattr(error, "message", None)
        rendered = message.render() if hasattr(message, "render") else str(message or error)
        raise ConsoleError(rendered, code=getattr(error, "code", "invalid_name")) from error


def add_domain(*, organization: Organization, text: str, actor) -> tuple[Domain, tuple]:
    """Add a pending domain for `organization` from what the admin typed.

    Guarantees: the name is normalised (normalize_domain's rules) and passes the database
    rules — at most DOMAIN_MAX_PER_ORGANIZATION non-removed domains, not already listed by
    this organization, not held (verified / re-validation required) by another
    organization. The new row has a fresh token; background checks start in a minute.
    Returns (domain, notes) where notes are the normalisation notes (Messages) to show.
    A web address at www.<name> is refused with WebAddressProposal (propose <name>).
    """
    normalized = _normalize(text)
    _propose_without_www(text, normalized)
    name = normalized.ascii
    now = clock.now()
    with transaction.atomic():
        # Serialise adds per organization so the limit holds under concurrent requests.
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        existing = Domain.objects.active().filter(organization=organization, name=name).first()
        if existing is not None:
            raise DomainAlreadyAdded(
                _("This organization already has %(domain)s (%(status)s).")
                % {"domain": existing.unicode_name or existing.name, "status": existing.get_status_display()},
                domain=existing,
            )
        limit = settings.DOMAIN_MAX_PER_ORGANIZATION
        if Domain.objects.active().filter(organization=organization).count() >= limit:
            raise ConsoleError(
                _(
                    "This organization already has %(limit)s domains, the most allowed. Delete a domain "
                    "you no longer need before adding another."
                )
                % {"limit": limit},
                code="limit",
            )
        if Domain.objects.held().filter(name=name).exclude(organization=organization).exists():
            raise ConsoleError(held_elsewhere_message(), code="held_elsewhere")
        try:
            with transaction.atomic():
                domain = Domain.objects.create(
                    organization=organization,
                    name=name,
                    unicode_name=normalized.unicode or name,
                    status=Domain.Status.PENDING,
                    created_at=now,
                    created_by=actor,
                    last_verify_click_at=now,
                    next_check_at=now + FIRST_BACKGROUND_CHECK_AFTER,
                )
        except IntegrityError as error:  # a concurrent add of the same name won the race
            existing = Domain.objects.active().filter(organization=organization, name=name).first()
            if existing is None:
                raise
            raise DomainAlreadyAdded(
                _("This organization already has %(domain)s (%(status)s).")
                % {"domain": existing.unicode_name or existing.name, "status": existing.get_status_display()},
                domain=existing,
            ) from error
        audit.record(
            "domain.added",
            organization=organization,
            actor=actor,
            target=domain,
            detail={"name": domain.name, "input": (text or "")[:300]},
        )
        events.emit(events.DOMAIN_ADDED, organization_id=organization.pk, data={"domain": events.domain_data(domain)})
    return domain, tuple(getattr(normalized, "notes", ()) or ())


class MethodNotVerified(ConsoleError):
    """The new method of a verified domain did not verify, so nothing changed; `check` is the
    recorded check (what was found)."""

    def __init__(self, message, *, check: DomainCheck | None):
        super().__init__(message, code="method_not_verified")
        self.check = check


def choose_method(*, domain: Domain, method: str, actor) -> Domain:
    """Set how the domain is checked (DNS TXT record or HTML file over HTTPS).

    A pending domain switches at once. A verified domain (or one in re-validation) switches
    only once the new method verifies: it is checked at once by that method (rate-limited
    like Verify), and when it does not verify the check is recorded, nothing else changes, and
    MethodNotVerified says what was found. So a switch never sends a domain into re-validation.
    """
    if method not in Domain.Method.values:
        raise ConsoleError(_("Choose DNS or HTML file."), code="invalid_method")
    domain.refresh_from_db()
    if domain.status == Domain.Status.REMOVED:
        raise ConsoleError(_("This domain has been deleted."), code="removed")
    if domain.status in Domain.HELD_STATUSES and domain.method != method:
        return _switch_after_verifying(domain=domain, method=method, actor=actor)
    with transaction.atomic():
        updated = Domain.objects.filter(pk=domain.pk).exclude(method=method).write_state(method=method)
        if updated:
            previous = domain.method
            domain.method = method
            audit.record(
                "domain.method_changed",
                organization=domain.organization,
                actor=actor,
                target=domain,
                detail={"from": previous, "to": method},
            )
    return domain


def _switch_after_verifying(*, domain: Domain, method: str, actor) -> Domain:
    _throttle_checks(domain)
    result = checking.check_domain_by(domain, method, deadline_seconds=settings.VERIFY_NOW_DEADLINE_SECONDS)
    applied = lifecycle.apply_check_result(
        domain_id=domain.pk, result=result, trigger=DomainCheck.Trigger.USER, actor=actor, trial=True
    )
    domain.refresh_from_db()
    if domain.method != method:
        raise MethodNotVerified(
            _(
                "We did not switch: the %(method)s did not verify yet (see what we found below). "
                "The domain is still checked by the %(current)s, so keep it in place."
            )
            % {
                "method": Domain.Method(method).label,
                "current": domain.get_method_display(),
            },
            check=applied.check if applied else None,
        )
    return domain


class VerifyOutcome(enum.Enum):
    """What a Verify click achieved, for the page to say."""

    VERIFIED = "verified"  # pending → verified
    REVALIDATED = "revalidated"  # re-validation required → verified
    STILL_VERIFIED = "still_verified"
    HELD_ELSEWHERE = "held_elsewhere"  # the token was found, but another organization won the name
    NOT_YET = "not_yet"  # not verified (yet): what was found is in the check
    NOT_RECORDED = "not_recorded"  # the domain changed meanwhile; nothing was applied


def outcome_message(outcome: VerifyOutcome, domain: Domain) -> str:
    """What a Verify click achieved, in words (the console's message and the API's)."""
    name = {"domain": domain.unicode_name or domain.name}
    return {
        VerifyOutcome.VERIFIED: _("%(domain)s is verified.") % name,
        VerifyOutcome.REVALIDATED: _("%(domain)s is verified again.") % name,
        VerifyOutcome.STILL_VERIFIED: _("%(domain)s is still verified.") % name,
        VerifyOutcome.HELD_ELSEWHERE: held_elsewhere_message(),
        VerifyOutcome.NOT_YET: _("Not verified yet. See what we found below."),
        VerifyOutcome.NOT_RECORDED: _("The check could not be recorded. Please try again."),
    }[outcome]


_OUTCOMES_BY_EVENT = {
    lifecycle.VERIFIED_EVENT: VerifyOutcome.VERIFIED,
    lifecycle.REVALIDATED_EVENT: VerifyOutcome.REVALIDATED,
    lifecycle.REFUSED_EVENT: VerifyOutcome.HELD_ELSEWHERE,
}


def verify_now(*, domain: Domain, actor) -> tuple[VerifyOutcome, DomainCheck | None]:
    """Check the domain at once (bounded by VERIFY_NOW_DEADLINE_SECONDS) and apply the result.

    For a pending domain the click restarts the background checks' 72-hour window. The
    check runs outside any transaction (network I/O); lifecycle.apply_check_result records
    it and moves the state. Returns what happened and the DomainCheck.
    """
    domain.refresh_from_db()
    if domain.status == Domain.Status.REMOVED:
        raise ConsoleError(_("This domain has been deleted."), code="removed")
    if (
        domain.status == Domain.Status.PENDING
        and Domain.objects.held().filter(name=domain.name).exclude(organization_id=domain.organization_id).exists()
    ):
        raise ConsoleError(held_elsewhere_message(), code="held_elsewhere")
    _throttle_checks(domain)
    if domain.status == Domain.Status.PENDING:
        Domain.objects.filter(pk=domain.pk, status=Domain.Status.PENDING).write_state(last_verify_click_at=clock.now())
    result = checking.check_domain(domain, deadline_seconds=settings.VERIFY_NOW_DEADLINE_SECONDS)
    applied = lifecycle.apply_check_result(
        domain_id=domain.pk, result=result, trigger=DomainCheck.Trigger.USER, actor=actor
    )
    domain.refresh_from_db()
    if applied is None:
        return VerifyOutcome.NOT_RECORDED, None
    if applied.event in _OUTCOMES_BY_EVENT:
        return _OUTCOMES_BY_EVENT[applied.event], applied.check
    if domain.status == Domain.Status.VERIFIED:
        return VerifyOutcome.STILL_VERIFIED, applied.check
    return VerifyOutcome.NOT_YET, applied.check


def _throttle_checks(domain: Domain) -> None:
    """Checks reach out to the Internet: limit them per domain and per organization."""
    window = settings.VERIFY_RATE_WINDOW_SECONDS
    state = ratelimit.acquire(
        [
            # Keyed on (organization, name): another organization cannot spend ours.
            (f"verify:domain:{domain.organization_id}:{domain.name}", settings.VERIFY_RATE_PER_DOMAIN, window),
            (f"verify:organization:{domain.organization_id}", settings.VERIFY_RATE_PER_ORGANIZATION, window),
        ]
    )
    if not state.allowed:
        minutes = state.retry_after_minutes
        raise ConsoleError(
            ngettext(
                "Too many checks of this domain or organization in a short time. Try again in %(minutes)d minute; "
                "meanwhile we keep checking in the background.",
                "Too many checks of this domain or organization in a short time. Try again in %(minutes)d minutes; "
                "meanwhile we keep checking in the background.",
                minutes,
            )
            % {"minutes": minutes},
            code="rate_limited",
            retry_after_seconds=state.retry_after_seconds,
        )


def update_settings(*, domain: Domain, auto_add_new_users: bool, actor) -> Domain:
    """Change the domain's settings; audited when something changed."""
    with transaction.atomic():
        updated = (
            Domain.objects.filter(pk=domain.pk)
            .exclude(auto_add_new_users=auto_add_new_users)
            .write_state(auto_add_new_users=auto_add_new_users)
        )
        if updated:
            domain.auto_add_new_users = auto_add_new_users
            audit.record(
                "domain.settings_changed",
                organization=domain.organization,
                actor=actor,
                target=domain,
                detail={"auto_add_new_users": auto_add_new_users},
            )
    return domain


def delete_domain(*, domain: Domain, actor) -> Domain:
    """Remove the domain from the organization (kept as a record with the reason).

    Members with an address at the domain stay members; admins simply can no longer add
    users at it. Background checks stop.
    """
    now = clock.now()
    reason = f"Deleted by {actor.email}" if actor is not None else "Deleted"
    with transaction.atomic():
        updated = (
            Domain.objects.filter(pk=domain.pk)
            .write_state(
                to=Domain.Status.REMOVED,
                removed_at=now,
                removal_reason=reason[:300],
                next_check_at=None,
                lease_expires_at=None,
                claimed_due_at=None,
            )
        )
        if not updated:
            raise ConsoleError(_("This domain has already been deleted."), code="removed")
        previous_status = domain.status
        domain.refresh_from_db()
        audit.record(
            "domain.deleted",
            organization=domain.organization,
            actor=actor,
            target=domain,
            detail={"name": domain.name, "previous_status": previous_status, "reason": domain.removal_reason},
        )
        events.emit(
            events.DOMAIN_DELETED,
            organization_id=domain.organization_id,
            data={"domain": events.domain_data(domain), "previous_status": previous_status, "reason": domain.removal_reason},
        )
    return domain
