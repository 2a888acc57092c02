"""Signals the domains app sends for the apps above it to connect in AppConfig.ready()."""

from django.dispatch import Signal

# A domain's state changed and the change has committed: `domain_id`, `event`
# ("domain.verified", "domain.failing", "domain.revalidated" or "domain.deleted").
domain_status_changed = Signal()
