"""Template helpers of the organizations app: audit actions and gated features in words."""

import functools
import re

from django import template
from django.utils.translation import get_language, gettext

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


_IMPORT_JOB_REPR = re.compile(r"^Import job \d+ for (?P<domain>.+)$")


@register.filter
def target_label(event) -> str:
    """What an event concerns, in the reader's language where the stored text is a phrase of
    ours (an import job); names (domains, e-mail addresses, organizations) as stored."""
    match = _IMPORT_JOB_REPR.match(event.target_repr or "") if event.target_type == "importjob" else None
    if match:
        return gettext("Import of users of %(domain)s") % {"domain": match["domain"]}
    return event.target_repr


@register.filter
def choice_label(instance, field_name: str) -> str:
    """{{ row|choice_label:"status" }}: get_status_display without its per-call cost (Django
    rebuilds the choices and translates every label on each call; per table row it adds up)."""
    value = getattr(instance, field_name)
    return _choice_labels(type(instance), field_name, get_language()).get(value, value)


@functools.lru_cache(maxsize=512)
def _choice_labels(model, field_name: str, language: str | None) -> dict:
    return {value: str(label) for value, label in model._meta.get_field(field_name).flatchoices}
