"""Signals the organizations app sends for the apps above it to connect in AppConfig.ready()."""

from django.dispatch import Signal

# A user proved their address (the verification link): `user`. Sent inside the transaction.
email_verified = Signal()

# Things an organization's tools may want to hear about happened: `event_type` (e.g.
# "domain.verified") and `occurrences`, a list of (organization_id, JSON-ready data).
# Sent synchronously inside the transaction of the state change, so a receiver that writes
# rows (an outbox) commits or rolls back with the change itself.
event_occurred = Signal()
