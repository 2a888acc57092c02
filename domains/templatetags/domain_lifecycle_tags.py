"""Template tags for the lifecycle parts of the domain pages."""

from django import template

from domains.expiry import removed_members_for

register = template.Library()


@register.simple_tag
def removed_members(domain):
    """Users removed when an earlier row of this domain expired, not added back yet (one query)."""
    if domain is None or not getattr(domain, "pk", None):
        return []
    return list(removed_members_for(domain)[:500])
