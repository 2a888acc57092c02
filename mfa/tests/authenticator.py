"""A software WebAuthn authenticator for tests: a real P-256 key pair that answers
navigator.credentials.create() and .get() the way a security key does (packed "none"
attestation, ES256 signatures over authenticator data and the client data hash).

soft-webauthn does the same but pins fido2 < 2 and with it an older cryptography than py_webauthn
needs, so this is built on the cryptography package directly.
"""

import base64
import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

USER_PRESENT, USER_VERIFIED, BACKUP_ELIGIBLE, BACKED_UP, ATTESTED = 0x01, 0x04, 0x08, 0x10, 0x40


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SoftAuthenticator:
    def __init__(self, *, origin: str, passkey: bool = False):
        self.origin = origin
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.sign_count = 0
        self.passkey = passkey  # a synced (backed-up) credential
        self.user_handle = b""

    def _flags(self, extra: int) -> bytes:
        backup = BACKUP_ELIGIBLE | BACKED_UP if self.passkey else 0
        return bytes([USER_PRESENT | USER_VERIFIED | backup | extra])

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}).encode()

    def create(self, options_json: str) -> str:
        options = json.loads(options_json)
        self.user_handle = base64.urlsafe_b64decode(options["user"]["id"] + "==")
        numbers = self.private_key.public_key().public_numbers()
        cose_key = cbor2.dumps(
            {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )
        auth_data = (
            hashlib.sha256(options["rp"]["id"].encode()).digest()
            + self._flags(ATTESTED)
            + struct.pack(">I", self.sign_count)
            + bytes(16)  # AAGUID
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + cose_key
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps(
            {
                "id": b64(self.credential_id),
                "rawId": b64(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64(self._client_data("webauthn.create", options["challenge"])),
                    "attestationObject": b64(attestation),
                },
                "clientExtensionResults": {},
            }
        )

    def get(self, options_json: str, *, rp_id: str | None = None) -> str:
        options = json.loads(options_json)
        self.sign_count += 1
        auth_data = (
            hashlib.sha256((rp_id or options["rpId"]).encode()).digest()
            + self._flags(0)
            + struct.pack(">I", self.sign_count)
        )
        client_data = self._client_data("webauthn.get", options["challenge"])
        signature = self.private_key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return json.dumps(
            {
                "id": b64(self.credential_id),
                "rawId": b64(self.credential_id),
                "type": "public-key",
                "response": {
                    "authenticatorData": b64(auth_data),
                    "clientDataJSON": b64(client_data),
                    "signature": b64(signature),
                    "userHandle": b64(self.user_handle),
                },
                "clientExtensionResults": {},
            }
        )
