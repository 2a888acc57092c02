"""A real SAML 2.0 identity provider (pysaml2's saml2.server.Server) on loopback, in its own
process, for the single sign-on tests.

Run as a script (`python -m tests.support.saml_idp CERT KEY FOLDER`): it serves HTTPS on an
ephemeral 127.0.0.1 port and prints "PORT <n>". FOLDER holds its signing key and certificate
(signing.key, signing.pem) and another pair it never publishes (foreign.key, foreign.pem).
  GET  /metadata        its IdP metadata (entity ID, HTTP-Redirect SSO URL, signing certificate)
  GET  /sso/redirect    takes our AuthnRequest (HTTP-Redirect); a form asks for the e-mail address
  POST /sso/login       answers with an auto-submitting form POSTing a signed Response to the ACS
  POST /control         JSON: {"sp_metadata": "<xml>"} trust an SP; {"behaviour": {...}} for the
     next responses: "expired" (NotOnOrAfter in the past), "foreign_key" (signed by a key not in
     the metadata), "audience" (another SP entity ID), "unsolicited" (no InResponseTo), "sha1" (signed with RSA-SHA1),
     "email" (assert this address instead); {"reset": true}

The fixture `saml_idp` (registered through `pytest_plugins` in the root conftest.py) starts it
once per session and resets it per test. Its attributes: metadata_url, entity_id,
ca_bundle_path, trust(sp_metadata_xml), behave(**options), metadata() -> bytes,
sign_in(redirect_url, email) -> (acs_url, form fields) the browser posts.
"""

import html
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, xmldsig
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.server import Server

from tests.support.idp_process import issue_tls, serve_https, start, stop

KEYS: Path = Path(".")


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.sp_metadata: list[str] = []
        self.behaviour: dict = {}


STATE = State()


def idp_config(base: str, *, key: str = "signing", lifetime_minutes: int = 5) -> IdPConfig:
    config = IdPConfig()
    config.load(
        {
            "entityid": f"{base}/metadata",
            "xmlsec_binary": "/usr/bin/xmlsec1",
            "key_file": str(KEYS / f"{key}.key"),
            "cert_file": str(KEYS / f"{key}.pem"),
            "metadata": {"inline": list(STATE.sp_metadata)},
            "accepted_time_diff": 60,
            "service": {
                "idp": {
                    "endpoints": {"single_sign_on_service": [(f"{base}/sso/redirect", BINDING_HTTP_REDIRECT)]},
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": lifetime_minutes},
                            "attribute_restrictions": None,
                            "name_form": NAME_FORMAT_URI,
                        }
                    },
                    "want_authn_requests_signed": False,
                }
            },
        }
    )
    return config


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002  (quiet)
        pass

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.server.server_port}"

    def _send(self, status: int, body: bytes = b"", content_type: str = "application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):  # noqa: N802
        parts = urlsplit(self.path)
        if parts.path == "/metadata":
            xml = create_metadata_string(None, config=idp_config(self.base), valid=24)
            return self._send(200, xml if isinstance(xml, bytes) else xml.encode(), "application/samlmetadata+xml")
        if parts.path == "/sso/redirect":
            query = {key: values[0] for key, values in parse_qs(parts.query).items()}
            hidden = "".join(
                f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
                for name, value in query.items()
            )
            page = (
                "<!doctype html><html lang=en><head><title>Loopback SAML IdP</title></head><body>"
                "<h1>Loopback SAML identity provider</h1><form method=post action=/sso/login>"
                f"<label for=email>E-mail</label><input id=email name=email>{hidden}"
                "<button type=submit>Sign in at the IdP</button></form></body></html>"
            )
            return self._send(200, page.encode(), "text/html; charset=utf-8")
        return self._send(404, b'{"error": "not_found"}')

    def do_POST(self):  # noqa: N802
        parts = urlsplit(self.path)
        if parts.path == "/control":
            return self._control(json.loads(self._body() or b"{}"))
        if parts.path == "/sso/login":
            form = {key: values[0] for key, values in parse_qs(self._body().decode(), keep_blank_values=True).items()}
            return self._login(form)
        return self._send(404, b'{"error": "not_found"}')

    def _control(self, command: dict):
        with STATE.lock:
            if command.get("reset"):
                STATE.reset()
            if "sp_metadata" in command:
                STATE.sp_metadata.append(command["sp_metadata"])
            if "behaviour" in command:
                STATE.behaviour.update(command["behaviour"])
        return self._send(200, b"{}")

    def _login(self, form: dict):
        with STATE.lock:
            behaviour = dict(STATE.behaviour)
        server = Server(config=idp_config(self.base))
        try:
            request = server.parse_authn_request(form.get("SAMLRequest", ""), BINDING_HTTP_REDIRECT)
        except Exception as error:  # an unknown SP or a malformed request
            return self._send(400, json.dumps({"error": str(error)[:300]}).encode())
        message = request.message
        sp_entity_id = message.issuer.text
        acs_url = message.assertion_consumer_service_url
        email = behaviour.get("email") or form.get("email", "")
        signer = Server(
            config=idp_config(
                self.base,
                key="foreign" if behaviour.get("foreign_key") else "signing",
                lifetime_minutes=-10 if behaviour.get("expired") else 5,
            )
        )
        response = signer.create_authn_response(
            identity={"mail": [email], "displayName": [email.split("@")[0].title()]},
            in_response_to=None if behaviour.get("unsolicited") else message.id,
            destination=acs_url,
            sp_entity_id=behaviour.get("audience", sp_entity_id),
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email),
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
            sign_assertion=True,
            sign_response=False,
            sign_alg=xmldsig.SIG_RSA_SHA1 if behaviour.get("sha1") else xmldsig.SIG_RSA_SHA256,
            digest_alg=xmldsig.DIGEST_SHA1 if behaviour.get("sha1") else xmldsig.DIGEST_SHA256,
        )
        post = signer.apply_binding(BINDING_HTTP_POST, str(response), acs_url, form.get("RelayState", ""), response=True)
        return self._send(200, post["data"].encode() if isinstance(post["data"], str) else post["data"], "text/html; charset=utf-8")


# --- The pytest fixtures (imported by pytest only; the script above needs none of this) ---------

try:
    import pytest
except ImportError:  # the IdP process itself runs without pytest
    pytest = None


class LoopbackIdentityProvider:
    def __init__(self, port: int, ca_bundle_path: str):
        self.port = port
        self.base = f"https://127.0.0.1:{port}"
        self.metadata_url = f"{self.base}/metadata"
        self.entity_id = f"{self.base}/metadata"
        self.ca_bundle_path = ca_bundle_path

    def control(self, command: dict) -> None:
        import requests

        requests.post(f"{self.base}/control", json=command, verify=self.ca_bundle_path, timeout=5).raise_for_status()

    def trust(self, sp_metadata_xml: str) -> None:
        self.control({"sp_metadata": sp_metadata_xml})

    def behave(self, **behaviour) -> None:
        self.control({"behaviour": behaviour})

    def metadata(self) -> bytes:
        import requests

        return requests.get(self.metadata_url, verify=self.ca_bundle_path, timeout=5).content

    def sign_in(self, redirect_url: str, email: str) -> tuple[str, dict]:
        """What a browser does at the IdP: open the page, submit the form; returns (ACS URL, fields posted)."""
        from html.parser import HTMLParser

        import requests

        assert redirect_url.startswith(self.base + "/sso/redirect?"), redirect_url
        page = requests.get(redirect_url, verify=self.ca_bundle_path, timeout=5)
        assert page.status_code == 200, page.text
        fields = {key: values[0] for key, values in parse_qs(urlsplit(redirect_url).query).items()}
        fields["email"] = email
        answer = requests.post(f"{self.base}/sso/login", data=fields, verify=self.ca_bundle_path, timeout=10)
        assert answer.status_code == 200, answer.text

        class FormReader(HTMLParser):
            action, inputs = "", {}

            def handle_starttag(self, tag, attrs):
                attributes = dict(attrs)
                if tag == "form":
                    self.action = attributes.get("action", "")
                elif tag == "input" and attributes.get("name"):
                    self.inputs[attributes["name"]] = attributes.get("value", "")

        reader = FormReader()
        reader.inputs = {}
        reader.feed(answer.text)
        return html.unescape(reader.action), reader.inputs


def write_signing_pair(folder, name: str) -> None:
    """A self-signed RSA key and certificate for XML signatures (what an IdP shows in its metadata)."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"loopback-idp-{name}")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    (folder / f"{name}.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (folder / f"{name}.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


if pytest is not None:

    @pytest.fixture(scope="session")
    def _saml_idp_process(tmp_path_factory):
        folder = tmp_path_factory.mktemp("saml-idp")
        cert_path, key_path, ca_path = issue_tls(folder, "127.0.0.1", "localhost")
        write_signing_pair(folder, "signing")
        write_signing_pair(folder, "foreign")
        process, port = start("tests.support.saml_idp", cert_path, key_path, folder, what="the loopback SAML IdP")
        yield LoopbackIdentityProvider(port, str(ca_path))
        stop(process)

    @pytest.fixture
    def saml_idp(_saml_idp_process, settings):
        """The loopback SAML IdP, reset for the test; settings trust its CA and allow loopback."""
        _saml_idp_process.control({"reset": True})
        settings.HTTPS_CA_BUNDLE = _saml_idp_process.ca_bundle_path
        settings.HTTPS_ALLOW_LOOPBACK = True
        return _saml_idp_process


def main(cert_path: str, key_path: str, folder: str) -> None:
    global KEYS
    KEYS = Path(folder)
    serve_https(Handler, cert_path, key_path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
