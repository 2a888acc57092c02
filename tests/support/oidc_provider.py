"""A real OpenID Connect provider on loopback, in its own process, for the single sign-on tests.

Run as a script (`python -m tests.support.oidc_provider CERT KEY`): it serves HTTPS on an
ephemeral 127.0.0.1 port and prints "PORT <n>". Authorization code flow with PKCE (S256 only),
client_secret_basic, single-use codes, RS256 ID tokens signed with a key published at /jwks.
A person "signs in" by posting the form at /authorize with their e-mail address. The issuer is
https://<the Host header>, so the provider answers as whatever name the tests' DNS gives it
(its certificate covers 127.0.0.1, localhost and idp.example).

Tests steer it through POST /control (JSON):
  {"client": {"client_id", "client_secret", "redirect_uris"}}  register a client
  {"behaviour": {...}}  for the next ID tokens: "expires_in" (seconds, may be negative),
     "nonce" (override), "audience", "issuer", "foreign_key" (sign with a key not in the JWKS),
     "email_verified" (bool), "unpublished_key" (sign with a key ID the JWKS does not hold),
     "jwks_max_age" (Cache-Control max-age of /jwks; "no-store" otherwise),
     "endpoints" (a dict overriding discovery's token_endpoint / jwks_uri),
     "discovery_padding" (that many bytes of filler in the discovery document)
  {"rotate_key": true}  sign with a new key (new kid), published next to the old one
  {"reset": true}  (also back to the first key)
Every answer to /control tells "token_requests", "jwks_requests" and "requests" (each request
served since the reset: method, path, Host header and the local address it arrived at).

The fixture `oidc_provider` (registered through `pytest_plugins` in the root conftest.py) starts
it once per session, resets it per test, and points the settings at its CA (`oidc_settings`).
Its attributes: issuer, ca_bundle_path, register(client_id, secret, redirect_uri),
behave(**options), sign_in(authorize_url, email) -> the callback URL the browser is sent to.
"""

import base64
import hashlib
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from tests.support.idp_process import issue_tls, serve_https, start, stop


def _new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


FIRST_KEY = _new_key("loopback-1")
FOREIGN_KEY = _new_key("loopback-1")
UNPUBLISHED_KEY = _new_key("unpublished-1")


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.clients: dict[str, dict] = {}
        self.codes: dict[str, dict] = {}
        self.behaviour: dict = {}
        self.token_requests = 0
        self.jwks_requests = 0
        self.requests: list[dict] = []
        self.keys = [FIRST_KEY]  # the signing key first, then the older ones still published

    def rotate(self):
        self.keys.insert(0, _new_key(f"loopback-{len(self.keys) + 1}"))


STATE = State()


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002  (quiet)
        pass

    @property
    def issuer(self) -> str:
        return f"https://{self.headers.get('Host') or f'127.0.0.1:{self.server.server_port}'}"

    def _record(self):
        parts = urlsplit(self.path)
        if parts.path != "/control":
            with STATE.lock:
                STATE.requests.append(
                    {
                        "method": self.command,
                        "path": parts.path,
                        "host": self.headers.get("Host", ""),
                        "local": self.connection.getsockname()[0],
                    }
                )

    def _send(self, status: int, body: bytes = b"", content_type: str = "application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if not any(name == "Cache-Control" for name, _value in headers):
            self.send_header("Cache-Control", "no-store")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, document: dict):
        self._send(status, json.dumps(document).encode())

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        return {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}

    def do_GET(self):  # noqa: N802
        self._record()
        parts = urlsplit(self.path)
        if parts.path == "/.well-known/openid-configuration":
            issuer = self.issuer
            with STATE.lock:
                endpoints = dict(STATE.behaviour.get("endpoints") or {})
                padding = int(STATE.behaviour.get("discovery_padding") or 0)
            return self._json(
                200,
                {
                    "issuer": issuer,
                    "authorization_endpoint": f"{issuer}/authorize",
                    "token_endpoint": endpoints.get("token_endpoint", f"{issuer}/token"),
                    "jwks_uri": endpoints.get("jwks_uri", f"{issuer}/jwks"),
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["S256"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                    **({"x_padding": "x" * padding} if padding else {}),
                },
            )
        if parts.path == "/jwks":
            with STATE.lock:
                STATE.jwks_requests += 1
                keys = list(STATE.keys)
                max_age = STATE.behaviour.get("jwks_max_age")
            headers = [("Cache-Control", f"max-age={int(max_age)}")] if max_age is not None else []
            body = json.dumps(KeySet(keys).as_dict(private=False)).encode()
            return self._send(200, body, headers=headers)
        if parts.path == "/authorize":
            query = {key: values[0] for key, values in parse_qs(parts.query).items()}
            hidden = "".join(
                f'<input type="hidden" name="{name}" value="{value}">'
                for name, value in query.items()
                if name != "login_hint"
            )
            page = (
                "<!doctype html><html lang=en><head><title>Loopback IdP</title></head><body>"
                "<h1>Loopback identity provider</h1><form method=post action=/authorize>"
                f'<label for=email>E-mail</label><input id=email name=email value="{query.get("login_hint", "")}">'
                f"{hidden}<button type=submit>Sign in at the IdP</button></form></body></html>"
            )
            return self._send(200, page.encode(), "text/html; charset=utf-8")
        return self._json(404, {"error": "not_found"})

    def do_POST(self):  # noqa: N802
        self._record()
        parts = urlsplit(self.path)
        if parts.path == "/control":
            return self._control()
        if parts.path == "/authorize":
            return self._authorize(self._form())
        if parts.path == "/token":
            return self._token(self._form())
        return self._json(404, {"error": "not_found"})

    def _control(self):
        length = int(self.headers.get("Content-Length") or 0)
        command = json.loads(self.rfile.read(length) or b"{}")
        with STATE.lock:
            if command.get("reset"):
                STATE.reset()
            if command.get("rotate_key"):
                STATE.rotate()
            if "client" in command:
                STATE.clients[command["client"]["client_id"]] = command["client"]
            if "behaviour" in command:
                STATE.behaviour.update(command["behaviour"])
            answer = {
                "token_requests": STATE.token_requests,
                "jwks_requests": STATE.jwks_requests,
                "requests": list(STATE.requests),
            }
        return self._json(200, answer)

    def _authorize(self, form: dict):
        client = STATE.clients.get(form.get("client_id", ""))
        redirect_uri = form.get("redirect_uri", "")
        if client is None or redirect_uri not in client["redirect_uris"]:
            return self._json(400, {"error": "invalid_client_or_redirect_uri"})
        if form.get("response_type") != "code" or form.get("code_challenge_method") != "S256":
            return self._json(400, {"error": "pkce_s256_required"})
        if "openid" not in form.get("scope", "").split():
            return self._json(400, {"error": "invalid_scope"})
        code = secrets.token_urlsafe(24)
        with STATE.lock:
            STATE.codes[code] = {
                "client_id": client["client_id"],
                "redirect_uri": redirect_uri,
                "nonce": form.get("nonce", ""),
                "challenge": form.get("code_challenge", ""),
                "email": form.get("email", ""),
            }
        location = f"{redirect_uri}?{urlencode({'code': code, 'state': form.get('state', '')})}"
        return self._send(302, headers=[("Location", location)])

    def _token(self, form: dict):
        with STATE.lock:
            STATE.token_requests += 1
        try:
            scheme, _, credentials = (self.headers.get("Authorization") or "").partition(" ")
            client_id, _, secret = base64.b64decode(credentials).decode().partition(":")
        except ValueError:
            return self._json(401, {"error": "invalid_client"})
        client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        client = STATE.clients.get(client_id)
        if scheme.lower() != "basic" or client is None or not secrets.compare_digest(secret, client["client_secret"]):
            return self._json(401, {"error": "invalid_client"})
        with STATE.lock:
            grant = STATE.codes.pop(form.get("code", ""), None)  # single use
            behaviour = dict(STATE.behaviour)
            signing_key = STATE.keys[0]
        if grant is None or grant["client_id"] != client_id or grant["redirect_uri"] != form.get("redirect_uri"):
            return self._json(400, {"error": "invalid_grant"})
        if _s256(form.get("code_verifier", "")) != grant["challenge"]:
            return self._json(400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
        now = int(time.time())
        claims = {
            "iss": behaviour.get("issuer", self.issuer),
            "sub": hashlib.sha256(grant["email"].encode()).hexdigest()[:24],
            "aud": behaviour.get("audience", client_id),
            "iat": now,
            "exp": now + int(behaviour.get("expires_in", 300)),
            "nonce": behaviour.get("nonce", grant["nonce"]),
            "email": grant["email"],
            "email_verified": behaviour.get("email_verified", True),
            "name": grant["email"].split("@")[0].title(),
        }
        key = signing_key
        if behaviour.get("foreign_key"):
            key = FOREIGN_KEY  # the kid of a published key, the wrong key
        elif behaviour.get("unpublished_key"):
            key = UNPUBLISHED_KEY
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        return self._json(
            200, {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", "expires_in": 300, "id_token": id_token}
        )



# --- The pytest fixtures (imported by pytest only; the script above needs none of this) ---------

try:
    import pytest
except ImportError:  # the provider process itself runs without pytest
    pytest = None


class LoopbackProvider:
    def __init__(self, port: int, ca_bundle_path: str):
        self.port = port
        self.issuer = f"https://127.0.0.1:{port}"
        self.ca_bundle_path = ca_bundle_path

    def control(self, command: dict) -> dict:
        import requests

        response = requests.post(f"{self.issuer}/control", json=command, verify=self.ca_bundle_path, timeout=5)
        response.raise_for_status()
        return response.json()

    def register(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
        self.control({"client": {"client_id": client_id, "client_secret": client_secret, "redirect_uris": [redirect_uri]}})

    def behave(self, **behaviour) -> None:
        self.control({"behaviour": behaviour})

    def rotate_key(self) -> None:
        self.control({"rotate_key": True})

    def counts(self) -> dict:
        """token_requests, jwks_requests and requests (method, path, host, local) since the reset."""
        return self.control({})

    def named(self, host: str) -> str:
        """The issuer under another name (the tests' DNS must resolve it to 127.0.0.1)."""
        return f"https://{host}:{self.port}"

    def sign_in(self, authorize_url: str, email: str) -> str:
        """What a browser does at the IdP: open the page, submit the form; returns where it is sent.
        The browser is sent to 127.0.0.1 whatever name the issuer has."""
        import requests

        parts = urlsplit(authorize_url)
        assert parts.scheme == "https" and parts.port == self.port and parts.path == "/authorize", authorize_url
        authorize_url = f"{self.issuer}/authorize?{parts.query}"
        page = requests.get(authorize_url, verify=self.ca_bundle_path, timeout=5)
        assert page.status_code == 200, page.text
        fields = {key: values[0] for key, values in parse_qs(urlsplit(authorize_url).query).items()}
        fields.pop("login_hint", None)
        fields["email"] = email
        answer = requests.post(
            f"{self.issuer}/authorize", data=fields, verify=self.ca_bundle_path, allow_redirects=False, timeout=5
        )
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]


if pytest is not None:

    @pytest.fixture(scope="session")
    def _oidc_provider_process(tmp_path_factory):
        folder = tmp_path_factory.mktemp("oidc")
        cert_path, key_path, ca_path = issue_tls(folder, "127.0.0.1", "localhost", "idp.example")
        process, port = start("tests.support.oidc_provider", cert_path, key_path, what="the loopback OIDC provider")
        yield LoopbackProvider(port, str(ca_path))
        stop(process)

    @pytest.fixture
    def oidc_provider(_oidc_provider_process, settings):
        """The loopback OIDC provider, reset for the test; settings trust its CA and allow loopback."""
        _oidc_provider_process.control({"reset": True})
        settings.HTTPS_CA_BUNDLE = _oidc_provider_process.ca_bundle_path
        settings.HTTPS_ALLOW_LOOPBACK = True
        return _oidc_provider_process


def main(cert_path: str, key_path: str) -> None:
    serve_https(Handler, cert_path, key_path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
