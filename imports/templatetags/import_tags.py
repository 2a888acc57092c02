"""Template tags of the Bulk User Import app, for the pages of the apps below it."""

from django import template

from imports import selectors

register = template.Library()


@register.inclusion_tag("imports/domain_import_section.html", takes_context=True)
def import_section(context, domain):
    """The "Import existing users" section at the bottom of a domain's page."""
    return {**selectors.import_section_context(domain), "csrf_token": context.get("csrf_token")}
