"""Template helpers for the Domains pages: stored check messages in the reader's language."""

from django import template

from domains.selectors import render_stored_message

register = template.Library()


@register.filter
def render_message(data, fallback=""):
    """{{ check.detail_message|render_message:check.detail }} → the text in the active language."""
    return render_stored_message(data, fallback or "")


@register.filter
def render_messages(items):
    """{% for text in check.diagnostics|render_messages %} → non-empty rendered texts."""
    return [text for text in (render_stored_message(item) for item in (items or [])) if text]
