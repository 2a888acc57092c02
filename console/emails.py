"""The one way an e-mail is written and sent, by every app.

A message is `templates/emails/<template>_subject.txt`, `_message.txt` and `_message.html`,
rendered in the recipient's language (subject on one line, text and HTML alternatives).
"""

from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

Context = dict | Callable[[], dict]


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


def message(rendered: tuple[str, str, str], *, to: str) -> EmailMultiAlternatives:
    """A message from `render`'s output (render once, send to many in the same language)."""
    subject, text, html = rendered
    email = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    email.attach_alternative(html, "text/html")
    return email


def build(template: str, *, to: str, language: str, context: Context) -> EmailMultiAlternatives:
    return message(render(template, language=language, context=context), to=to)


def send(template: str, *, to: str, language: str, context: Context) -> None:
    build(template, to=to, language=language, context=context).send()


def send_to_user(template: str, *, user, context: Context) -> None:
    """Send to a user, in the language they chose."""
    send(template, to=user.email, language=user.language, context=context)


def send_many(messages: list[EmailMultiAlternatives]) -> int:
    """Hand a batch to the mail backend over one connection."""
    return get_connection().send_messages(messages) or 0


def send_on_commit(template: str, *, to: str, language: str, context: Context) -> None:
    """E-mail only if the surrounding transaction commits (no mail about a change rolled back)."""
    transaction.on_commit(lambda: send(template, to=to, language=language, context=context))


def send_to_user_on_commit(template: str, *, user, context: Context) -> None:
    send_on_commit(template, to=user.email, language=user.language, context=context)
