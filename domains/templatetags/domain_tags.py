"""Template helpers of the Domains app: stored check messages in the reader's language, and the
parts of the organizations app's pages that come from domains (the overview's count, the Users
page's notice about lapsing domains)."""

from django import template

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


@register.inclusion_tag("domains/_summary_card.html")
def domains_summary_card(organization):
    """The overview's Domains card (one query)."""
    return {"domains_count": selectors.domains_count_of(organization=organization)}


@register.inclusion_tag("domains/_lapsing_notice.html")
def lapsing_domains_notice(organization):
    """The Users page's notice for each domain in re-validation (one query)."""
    return {"lapsing_domains": selectors.lapsing_domains_of(organization=organization)}
