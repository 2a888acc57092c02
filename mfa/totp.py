"""Authenticator-app codes (RFC 6238, via pyotp) read on the project clock, and the QR code of
the enrolment link rendered here as an SVG data URI (the page loads nothing from elsewhere and
the strict Content-Security-Policy already allows data: images)."""

import hmac
import re
from datetime import datetime

import pyotp
import segno

# A code typed with spaces or a dash ("123 456") is still the code.
_SEPARATORS = re.compile(r"[\s-]")


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2, dark="#111", light="#fff")


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[index : index + 4] for index in range(0, len(secret), 4))


def normalise_code(code: str) -> str:
    return _SEPARATORS.sub("", code or "")


def matching_counter(secret: str, code: str, *, at: datetime, after_counter: int) -> int | None:
    """The time step whose code this is (the current one, or one step either side for clock
    drift), if it is later than `after_counter`; None otherwise. Compared in constant time."""
    code = normalise_code(code)
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(at)
    for counter in (current - 1, current, current + 1):
        if counter > after_counter and hmac.compare_digest(totp.generate_otp(counter), code):
            return counter
    return None
