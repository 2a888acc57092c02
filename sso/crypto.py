"""Client secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) under keys from SSO_SECRET_KEYS.

The first key encrypts; every key decrypts, so a key can be rotated by putting the new one
first. Without SSO_SECRET_KEYS a key is derived from SECRET_KEY (rotating SECRET_KEY then means
entering the client secrets again).
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _fernet_key(secret: str) -> bytes:
    # Any configured text becomes a valid 32-byte Fernet key.
    return base64.urlsafe_b64encode(hashlib.sha256(f"sso-client-secret:{secret}".encode()).digest())


def _fernet() -> MultiFernet:
    secrets = settings.SSO_SECRET_KEYS or [settings.SECRET_KEY]
    return MultiFernet([Fernet(_fernet_key(secret)) for secret in secrets])


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    """The plain secret; ValueError when no configured key opens it."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ValueError("the client secret cannot be decrypted with SSO_SECRET_KEYS") from error
