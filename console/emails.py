"""The one way an e-mail is written and sent, by every app.

A message is `templates/emails/<template>_subject.txt`, `_message.txt` and `_message.html`,
rendered in the recipient's language (subject on one line, text and HTML alternatives).

Sending is queued: `queue_to_user` / `queue` write an `OutboundEmail` record in the caller's
transaction (so the e-mail commits or rolls back with the change it announces) and enqueue
`console.send_emails` on commit. The worker renders each record at send time from its params
(ids and plain values) through the builder its template registered, retries transient SMTP
errors with exponential back-off, and records sent or failed with the reason. A beat sweep
requeues records whose task was lost (broker outage, killed worker).

Delivery is at least once: a worker that dies after the SMTP server accepted a message and
before the record says "sent" leaves the record to be sent again. The window is one UPDATE
(retried while the database is away); every attempt carries the record's Message-ID, so a
receiver can drop the duplicate.
"""

import logging
import smtplib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import make_msgid, parseaddr

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import InterfaceError, OperationalError, transaction
from django.db import connection as db_connection
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import translation

from console import clock, queue
from console.models import OutboundEmail, User

logger = logging.getLogger(__name__)

SEND_TASK = "console.send_emails"

Context = dict | Callable[[], dict]
Builder = Callable[[dict, User | None], dict]


@dataclass(frozen=True)
class Registration:
    builder: Builder
    personal: bool  # False: the context depends on params only (rendered once per language)


_BUILDERS: dict[str, Registration] = {}


class NothingToSend(Exception):  # noqa: N818  (an outcome, not a fault)
    """Raised by a builder when what the e-mail was about is gone; the record ends failed."""


def register(template: str, builder: Builder, *, personal: bool = True) -> None:
    """Build `template`'s context at send time from the record's params and user, inside the
    recipient's language. Templates without a builder use their params as the context."""
    _BUILDERS[template] = Registration(builder, personal)


def absolute_url(path: str) -> str:
    """A link for an e-mail: the console's public address, never the request's Host header."""
    return settings.CONSOLE_BASE_URL.rstrip("/") + path


def render(template: str, *, language: str, context: Context) -> tuple[str, str, str]:
    """(subject, text, html) in `language`. A callable context is built inside the language,
    so stored messages it renders come out in the recipient's language too."""
    with translation.override(language or settings.LANGUAGE_CODE):
        values = context() if callable(context) else context
        values = {"support_url": settings.SUPPORT_URL, "console_url": absolute_url("/"), **values}
        subject = " ".join(render_to_string(f"emails/{template}_subject.txt", values).split())
        text = render_to_string(f"emails/{template}_message.txt", values)
        html = render_to_string(f"emails/{template}_message.html", values)
    return subject, text, html


# --- Queueing -------------------------------------------------------------------------------


def _message_id() -> str:
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "admin-center.invalid"
    return make_msgid(domain=domain)


def _new_record(template: str, *, to: str, user: User | None, language: str, params: dict, reference: str):
    return OutboundEmail(
        message_id=_message_id(),
        template=template,
        recipient=to,
        user=user,
        language=language,
        params=params,
        reference=reference,
        next_attempt_at=clock.now(),
    )


def enqueue(record_ids: Sequence[int]) -> None:
    """Send these records once the transaction commits, in batches of EMAIL_BATCH_SIZE.
    A broker that cannot take them only delays them: the sweep requeues them later."""
    size = settings.EMAIL_BATCH_SIZE
    for start in range(0, len(record_ids), size):
        queue.on_commit(
            SEND_TASK, list(record_ids[start : start + size]), inline=settings.EMAIL_DELIVER_INLINE, recoverable=True
        )


def queue_email(
    template: str, *, to: str, user: User | None = None, language: str = "", params: dict | None = None, reference: str = ""
) -> OutboundEmail:
    """Record an e-mail to `to` and send it after commit. `params` must be JSON (ids, plain text)."""
    record = _new_record(template, to=to, user=user, language=language, params=params or {}, reference=reference)
    record.save()
    enqueue([record.pk])
    return record


def queue_to_user(template: str, *, user: User, params: dict | None = None, reference: str = "") -> OutboundEmail:
    """Record an e-mail to a user, rendered in the language they have chosen when it is sent."""
    return queue_email(template, to=user.email, user=user, params=params, reference=reference)


def queue_to_users(template: str, *, users: Iterable[User], params: dict | None = None, reference: str = "") -> int:
    """The same e-mail to many users, written in one statement; returns how many."""
    return queue_many([(template, user, params or {}, reference) for user in users])


def queue_many(items: Iterable[tuple[str, User, dict, str]]) -> int:
    """E-mails to users, each (template, user, params, reference), written in one statement."""
    records = [
        _new_record(template, to=user.email, user=user, language="", params=params, reference=reference)
        for template, user, params, reference in items
    ]
    OutboundEmail.objects.bulk_create(records, batch_size=1000)
    enqueue([record.pk for record in records])
    return len(records)


# --- Sending (the worker) -------------------------------------------------------------------


@dataclass
class Delivery:
    sent: int = 0
    failed: int = 0
    retry_ids: list[int] = field(default_factory=list)
    retry_in: float = 0.0


def is_transient(error: BaseException) -> bool:
    """Worth trying again later: 4xx SMTP replies, lost or refused connections, timeouts,
    rejected relay credentials, a provider API's 429 or 5xx. Any other 5xx reply (unknown
    mailbox, rejected message) is final."""
    if isinstance(error, SoftTimeLimitExceeded | smtplib.SMTPAuthenticationError):
        return True  # a hung attempt, or the relay's credentials: fixable, and no fault of the message
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _message in error.recipients.values())
    status = getattr(error, "status_code", None)  # django-anymail's API errors
    if isinstance(status, int):
        return status == 429 or status >= 500
    return isinstance(error, OSError)  # refused, reset, timed out, DNS failure, server disconnected


def backoff_seconds(attempts: int) -> float:
    return min(settings.EMAIL_RETRY_BACKOFF_MAX_SECONDS, settings.EMAIL_RETRY_BACKOFF_SECONDS * 2 ** max(0, attempts - 1))


def _claim(record_ids: Sequence[int]) -> list[int]:
    """Take the records no other worker is sending (a lease, so a dead sender's records come back)."""
    now = clock.now()
    with transaction.atomic():
        ids = list(
            OutboundEmail.objects.claimable(now)
            .filter(pk__in=list(record_ids), next_attempt_at__lte=now + timedelta(seconds=1))
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        OutboundEmail.objects.filter(pk__in=ids).update(
            status=OutboundEmail.Status.SENDING,
            attempts=F("attempts") + 1,
            lease_expires_at=now + timedelta(seconds=settings.EMAIL_LEASE_SECONDS),
        )
    return ids


def _build(record: OutboundEmail, rendered: dict) -> EmailMultiAlternatives:
    user = record.user
    language = (user.language if user else record.language) or settings.LANGUAGE_CODE
    registration = _BUILDERS.get(record.template, Registration(lambda params, _user: params, personal=False))
    key = (record.template, language, repr(sorted(record.params.items())))
    if registration.personal or key not in rendered:
        rendered[key] = render(
            record.template, language=language, context=lambda: registration.builder(record.params, user)
        )
    subject, text, html = rendered[key]
    to = user.email if user else record.recipient
    email = EmailMultiAlternatives(
        subject, text, settings.DEFAULT_FROM_EMAIL, [to], headers={"Message-ID": record.message_id}
    )
    email.attach_alternative(html, "text/html")
    return email


def _write_after_send(pk: int, **values) -> None:
    """Record an accepted message, retrying while the database is away: the only moment a
    crash sends the message twice, so keep it short and do not give up at the first error."""
    for attempt in range(6):
        try:
            OutboundEmail.objects.filter(pk=pk).update(**values)
            return
        except (OperationalError, InterfaceError):
            if attempt == 5:
                raise
            db_connection.close()  # the next query opens a fresh connection
            time.sleep(min(2**attempt, 10))


def _fail(record: OutboundEmail, reason: str) -> None:
    _write_after_send(
        record.pk, status=OutboundEmail.Status.FAILED, failed_at=clock.now(), last_error=reason[:2000], lease_expires_at=None
    )


def _postpone(records: list[OutboundEmail], error: BaseException, outcome: Delivery) -> None:
    """Queue the records again after a back-off, or fail those out of attempts."""
    now = clock.now()
    reason = f"{type(error).__name__}: {error}"[:2000]
    for record in records:
        attempts = record.attempts  # loaded after the claim counted this attempt
        if attempts >= settings.EMAIL_MAX_ATTEMPTS:
            _fail(record, f"Gave up after {attempts} attempts. {reason}")
            outcome.failed += 1
            continue
        delay = backoff_seconds(attempts)
        _write_after_send(
            record.pk,
            status=OutboundEmail.Status.QUEUED,
            next_attempt_at=now + timedelta(seconds=delay),
            lease_expires_at=None,
            last_error=reason,
        )
        outcome.retry_ids.append(record.pk)
        outcome.retry_in = max(outcome.retry_in, delay)


def deliver(record_ids: Sequence[int]) -> Delivery:
    """Send the given records that are due and not taken, over one connection.

    Guarantees: a record is sent only by the worker holding its claim; it ends `sent`,
    `failed` (a final SMTP reply, a template error, what it was about is gone, or out of
    attempts) or `queued` again with a later `next_attempt_at` (returned as retry_ids).
    """
    outcome = Delivery()
    claimed = _claim(record_ids)
    if not claimed:
        return outcome
    records = list(OutboundEmail.objects.filter(pk__in=claimed).select_related("user").order_by("pk"))
    rendered: dict = {}
    connection = get_connection()
    try:
        for index, record in enumerate(records):
            try:
                email = _build(record, rendered)
            except NothingToSend as reason:
                _fail(record, str(reason))
                outcome.failed += 1
                continue
            except Exception as error:  # a template or builder bug: retrying will not fix it
                logger.exception("e-mail %s (%s) could not be rendered", record.pk, record.template)
                _fail(record, f"Could not be written: {type(error).__name__}: {error}")
                outcome.failed += 1
                continue
            try:
                connection.open()
                connection.send_messages([email])
            except Exception as error:
                if is_transient(error):
                    logger.warning("e-mail sending paused, %d to retry: %r", len(records) - index, error)
                    _postpone(records[index:], error, outcome)
                    break
                _fail(record, f"{type(error).__name__}: {error}")
                outcome.failed += 1
                continue
            _write_after_send(
                record.pk,
                status=OutboundEmail.Status.SENT,
                sent_at=clock.now(),
                lease_expires_at=None,
                last_error="",
                provider_message_id=_provider_message_id(email),
            )
            outcome.sent += 1
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001  (closing a broken connection must not hide the outcome)
            logger.debug("closing the mail connection failed", exc_info=True)
    return outcome


def _provider_message_id(email) -> str:
    status = getattr(email, "anymail_status", None)  # set by django-anymail backends
    message_id = status.message_id if status is not None else None
    return "" if message_id is None else str(message_id)[:255]


def requeue_overdue(*, limit: int = 10000) -> int:
    """Queue again the records whose task was lost: queued and due for longer than
    EMAIL_REQUEUE_GRACE_SECONDS, or claimed by a worker whose lease ran out."""
    now = clock.now()
    grace = timedelta(seconds=settings.EMAIL_REQUEUE_GRACE_SECONDS)
    with transaction.atomic():
        ids = list(
            OutboundEmail.objects.overdue(now, grace)
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        OutboundEmail.objects.filter(pk__in=ids).update(
            status=OutboundEmail.Status.QUEUED, next_attempt_at=now, lease_expires_at=None
        )
        enqueue(ids)
    if ids:
        logger.warning("requeued %d e-mails whose task was lost", len(ids))
    return len(ids)


# --- What support and the pages show ---------------------------------------------------------


def resend(record: OutboundEmail) -> OutboundEmail:
    """A copy of a record to send again (a new Message-ID: it is a new message)."""
    return queue_email(
        record.template,
        to=record.recipient,
        user=record.user,
        language=record.language,
        params=record.params,
        reference=record.reference,
    )
