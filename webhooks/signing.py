"""Standard Webhooks signatures (webhook-id, webhook-timestamp, webhook-signature), made with
the `standardwebhooks` package so any Standard Webhooks library verifies them."""

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105  (the scheme's prefix, not a secret)


def new_secret() -> str:
    """A fresh signing secret: 32 random bytes, base64, with the scheme's prefix."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_headers(*, message_id: str, body: str, secrets_in_use: list[str]) -> dict[str, str]:
    """The three headers; one `v1,` signature per secret in use (two during a rotation's overlap)."""
    # The receiver checks freshness against its own clock, so this is wall-clock time, not the
    # project clock tests move.
    sent_at = datetime.now(UTC)
    signatures = [Webhook(secret).sign(message_id, sent_at, body) for secret in secrets_in_use]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": " ".join(signatures),
        "Content-Type": "application/json",
    }
