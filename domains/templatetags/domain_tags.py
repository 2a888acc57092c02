"""Template helpers of the Domains app: stored check messages in the reader's language, and the
parts of the organizations app's pages that come from domains (the overview's count and the
alert about domains in re-validation, also on the Users page)."""

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from domains import selectors

register = template.Library()


@register.filter
def render_message(data, fallback=""):
    """{{ check.detail_message|render_message:check.detail }} → the text in the active language."""
    return selectors.render_stored_message(data, fallback or "")


@register.filter
def render_messages(items):
    """{% for text in check.diagnostics|render_messages %} → non-empty rendered texts."""
    return [text for text in (selectors.render_stored_message(item) for item in (items or [])) if text]


# A definitive failure that is not a missing record or file gets a label of its own.
_CERTIFICATE_PROBLEM = "The HTTPS certificate of %(host)s is not trusted (%(problem)s)."


@register.filter
def certificate_problem(check) -> bool:
    """{% if check|certificate_problem %}: the check failed on an untrusted certificate, which
    must not be labelled "Not found"."""
    message = getattr(check, "detail_message", None) or {}
    return isinstance(message, dict) and message.get("text") == _CERTIFICATE_PROBLEM


@register.filter
def break_after_slashes(url):
    """A long address that wraps after its slashes, not in the middle of a word (<wbr> copies as nothing)."""
    return mark_safe(escape(url or "").replace("/", "/<wbr>"))  # noqa: S308 (escaped first)


@register.inclusion_tag("domains/_summary_card.html")
def domains_summary_card(organization):
    """The overview's Domains card (one query)."""
    return {"domains_count": selectors.domains_count_of(organization=organization)}


@register.inclusion_tag("domains/_lapse_alert.html")
def lapsing_domains_alert(organization):
    """The alert, while any domain is in re-validation, saying whose users are removed and
    when (overview, Domains and Users pages; one query)."""
    return {"lapsing_domains": selectors.lapsing_domains_of(organization=organization)}


@register.simple_tag
def verified_domains(organization):
    """The organization's verified domains (one query), e.g. to say where users can be added."""
    return selectors.verified_domains_of(organization=organization)
