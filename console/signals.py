"""Signals the organizations app sends for the apps above it to connect in AppConfig.ready()."""

from django.dispatch import Signal

# A user proved their address (the verification link): `user`. Sent inside the transaction.
email_verified = Signal()
