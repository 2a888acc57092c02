"""Template helpers of the organizations app: audit actions and gated features in words."""

from django import template

from console import audit
from console.models import Membership, Organization

register = template.Library()


@register.filter
def action_label(action: str) -> str:
    """{{ event.action|action_label }} → "Domain verified" (the code stays in the database)."""
    return audit.describe(action or "")


@register.filter
def feature_label(feature: str) -> str:
    """{{ "bulk_user_import"|feature_label }} → "Bulk User Import"."""
    labels = dict(Organization.Feature.choices)
    return str(labels.get(feature, feature))


@register.filter
def role_label(role: str) -> str:
    """{{ "owner"|role_label }} → "Owner" in the reader's language."""
    return str(dict(Membership.Role.choices).get(role, role))
