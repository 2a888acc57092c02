"""WebAuthn ceremonies (security keys and passkeys) through py_webauthn: the options sent to
the browser and the verification of what it sends back. Pure: no ORM, no settings."""

import json
from dataclasses import dataclass

from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)


class CeremonyFailed(Exception):
    """The browser's answer did not prove possession of the key (any reason; never shown)."""


@dataclass(frozen=True)
class Options:
    json: str  # PublicKeyCredentialCreationOptions / RequestOptions as WebAuthn JSON
    challenge: bytes


@dataclass(frozen=True)
class NewCredential:
    credential_id: bytes
    public_key: bytes
    sign_count: int
    is_passkey: bool


def registration_options(
    *, rp_id: str, rp_name: str, user_handle: bytes, user_name: str, user_display_name: str, exclude: list[bytes]
) -> Options:
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=rp_name,
        user_id=user_handle,
        user_name=user_name,
        user_display_name=user_display_name,
        # A passkey where the authenticator can hold one; a plain security key otherwise.
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=credential_id) for credential_id in exclude],
    )
    return Options(options_to_json(options), options.challenge)


def verify_registration(*, credential: str, challenge: bytes, rp_id: str, origin: str) -> NewCredential:
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id, expected_origin=origin
        )
    except (WebAuthnException, ValueError, KeyError, TypeError, AttributeError) as error:
        raise CeremonyFailed(str(error)) from error
    return NewCredential(
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        is_passkey=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
    )


def authentication_options(*, rp_id: str, allow: list[bytes]) -> Options:
    options = generate_authentication_options(
        rp_id=rp_id,
        allow_credentials=[PublicKeyCredentialDescriptor(id=credential_id) for credential_id in allow],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return Options(options_to_json(options), options.challenge)


def credential_id_of(credential: str) -> bytes:
    """The raw id the browser says it used (to find the stored key before verifying)."""
    try:
        return base64url_to_bytes(json.loads(credential)["rawId"])
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise CeremonyFailed("no credential id") from error


def verify_authentication(
    *, credential: str, challenge: bytes, rp_id: str, origin: str, public_key: bytes, sign_count: int
) -> int:
    """Verify an assertion; returns the authenticator's new signature counter."""
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=public_key,
            credential_current_sign_count=sign_count,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError, AttributeError) as error:
        raise CeremonyFailed(str(error)) from error
    return verified.new_sign_count
