"""OpenID Connect relying party, as pure I/O: no ORM, no settings (callers pass configuration).

authlib builds the authorization request (state, nonce, PKCE S256) and exchanges the code;
joserfc verifies the ID token's signature against the issuer's JWKS and its iss, aud, exp,
iat and nonce. Every request goes over HTTPS, without following redirects, to an address
that domains.verifiers allows (no private, link-local or metadata addresses): the name is
resolved once per request through the configured resolver, every address is vetted, and the
connection goes to a vetted address (SNI and certificate still checked against the name), so
a DNS answer that changes after the check cannot steer it elsewhere.
"""

import ssl
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from requests.adapters import HTTPAdapter
from requests.exceptions import RequestException
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from domains.verifiers import AddressRefused, ResolverConfig, contactable_addresses
from domains.verifiers.transport import Watchdog, host_header, pinned_pool, tls_context

SCOPE = "openid email profile"
SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
MAX_DOCUMENT_BYTES = 256 * 1024


class OidcError(Exception):
    """The provider could not be used; `reason` is a code the caller turns into words."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Transport:
    """How to reach a provider: the resolver, a CA bundle ("" for certifi's store), loopback for
    tests only, and how long one request may take (lookup, connection and answer together)."""

    ca_bundle: str = ""
    allow_loopback: bool = False
    timeout_seconds: float = 10.0
    resolver: ResolverConfig = field(default_factory=ResolverConfig)
    max_bytes: int = MAX_DOCUMENT_BYTES  # of any one answer's body


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


def _host_and_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    try:
        host, port = (parts.hostname or "").rstrip("."), parts.port or 443
    except ValueError as error:
        raise OidcError("not_https", url) from error
    if parts.scheme != "https" or not host:
        raise OidcError("not_https", url)
    return host, port


def vet_url(url: str, transport: Transport, deadline: float | None = None) -> list[str]:
    """The addresses an https URL's host may be reached at, each one allowed; OidcError otherwise."""
    host, _port = _host_and_port(url)
    if deadline is None:
        deadline = time.monotonic() + transport.timeout_seconds
    try:
        return contactable_addresses(
            host, resolver=transport.resolver, allow_loopback=transport.allow_loopback, deadline=deadline
        )
    except AddressRefused as refused:
        raise OidcError("forbidden_address" if refused.forbidden else "unreachable", refused.detail.english()) from None


def _read_capped(response: requests.Response, max_bytes: int) -> None:
    """Read the body now, refusing it past max_bytes, so a huge answer never fills memory."""
    body = bytearray()
    for chunk in response.iter_content(64 * 1024):
        body += chunk
        if len(body) > max_bytes:
            response.close()
            raise OidcError("too_large", response.url)
    response._content = bytes(body)  # what response.content and .json() then return


def _never_connected(error: requests.ConnectionError) -> bool:
    reason = getattr(error.args[0] if error.args else None, "reason", None)
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


class _PinnedAdapter(HTTPAdapter):
    """Sends each request to an address vet_url has just allowed, through domains.verifiers'
    pinned pool: the name is never resolved again, and one deadline (the watchdog) bounds the
    lookup, the connection and the whole answer."""

    def __init__(self, transport: Transport):
        super().__init__(max_retries=0)
        self.transport = transport
        self._pinned = threading.local()

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        return self._pinned.pool

    def cert_verify(self, conn, url, verify, cert):
        pass  # the pinned pool carries its own TLS context, built from transport.ca_bundle

    def request_url(self, request, proxies):
        return request.path_url  # never through a proxy

    def send(self, request, **kwargs):
        deadline = time.monotonic() + self.transport.timeout_seconds
        addresses = vet_url(request.url, self.transport, deadline)
        host, port = _host_and_port(request.url)
        try:
            context = tls_context(self.transport.ca_bundle)
        except (OSError, ssl.SSLError) as error:
            raise OidcError("unreachable", f"CA bundle {self.transport.ca_bundle}: {error}") from error
        request.headers["Host"] = host_header(host, port)
        kwargs["timeout"] = self.transport.timeout_seconds
        watchdog = Watchdog(deadline)
        try:
            for index, address in enumerate(addresses):
                self._pinned.pool = pinned_pool(
                    host=host, port=port, address=address, context=context, watchdog=watchdog,
                    timeout=self.transport.timeout_seconds,
                )
                try:
                    response = super().send(request, **kwargs)
                    _read_capped(response, self.transport.max_bytes)  # while the watchdog guards the deadline
                    return response
                except requests.ConnectionError as error:
                    # The next address only when this one took no request: a POST must not be sent twice.
                    if index == len(addresses) - 1 or watchdog.fired or not _never_connected(error):
                        raise
                finally:
                    self._pinned.pool.close()
        finally:
            self._pinned.pool = None
            watchdog.close()
        raise AssertionError("unreachable")  # pragma: no cover  (the last address returns or raises)


def _vetted(session: requests.Session, transport: Transport):
    session.mount("https://", _PinnedAdapter(transport))
    session.mount("http://", _PinnedAdapter(transport))  # refuses: not https
    # No proxy or netrc from the environment: a proxy would reach what vet_url refused.
    session.trust_env = False
    session.max_redirects = 0
    return session


def new_session(transport: Transport, **client) -> OAuth2Session:
    """authlib's OAuth 2 client session, over vetted HTTPS only."""
    return _vetted(OAuth2Session(**client), transport)


def _get_json(url: str, transport: Transport) -> tuple[dict, requests.structures.CaseInsensitiveDict]:
    """The JSON object at `url`, and the answer's headers."""
    try:
        with _vetted(requests.Session(), transport) as session:
            response = session.get(url, allow_redirects=False)
    except RequestException as error:
        raise OidcError("unreachable", f"{url}: {error}") from error
    if response.status_code != 200:
        raise OidcError("bad_status", f"{url}: HTTP {response.status_code}")
    try:
        document = response.json()
    except ValueError as error:
        raise OidcError("not_json", url) from error
    if not isinstance(document, dict):
        raise OidcError("not_json", url)
    return document, response.headers


def discover(issuer: str, transport: Transport) -> ProviderMetadata:
    """The provider's endpoints from <issuer>/.well-known/openid-configuration (OIDC Discovery 1.0)."""
    issuer = issuer.strip().rstrip("/")
    _host_and_port(issuer)  # an https URL; its addresses are vetted when it is fetched
    document, _headers = _get_json(f"{issuer}/.well-known/openid-configuration", transport)
    # Discovery §4.3: the document's issuer must be exactly the one asked for.
    if str(document.get("issuer", "")).rstrip("/") != issuer:
        raise OidcError("issuer_mismatch", str(document.get("issuer", ""))[:200])
    endpoints = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(name)
        if not isinstance(value, str) or urlsplit(value).scheme != "https":
            raise OidcError("incomplete_discovery", name)
        endpoints[name] = value
    methods = document.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise OidcError("no_pkce", ", ".join(map(str, methods))[:200])
    return ProviderMetadata(issuer=str(document["issuer"]), **endpoints)


def authorization_url(
    metadata: ProviderMetadata, *, client_id: str, redirect_uri: str, state: str, nonce: str, code_verifier: str,
    login_hint: str = "",
) -> str:
    session = OAuth2Session(client_id, scope=SCOPE, redirect_uri=redirect_uri, code_challenge_method="S256")
    extra = {"login_hint": login_hint} if login_hint else {}
    url, _state = session.create_authorization_url(
        metadata.authorization_endpoint, state=state, nonce=nonce, code_verifier=code_verifier, **extra
    )
    return url


def exchange_code(
    metadata: ProviderMetadata, *, client_id: str, client_secret: str, redirect_uri: str, code: str,
    code_verifier: str, transport: Transport,
) -> str:
    """The ID token for an authorization code (client_secret_basic, with the PKCE verifier)."""
    client = {"client_id": client_id, "client_secret": client_secret, "redirect_uri": redirect_uri, "scope": SCOPE}
    try:
        with new_session(transport, **client) as session:
            token = session.fetch_token(
                metadata.token_endpoint, grant_type="authorization_code", code=code, code_verifier=code_verifier
            )
    except OidcError:
        raise
    except Exception as error:  # authlib raises OAuthError and requests' errors alike
        raise OidcError("token_refused", str(error)[:300]) from error
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise OidcError("no_id_token")
    return id_token


def fetch_key_set(jwks_uri: str, transport: Transport) -> tuple[dict, str]:
    """The provider's JWKS document (one that imports as a key set) and its Cache-Control header."""
    document, headers = _get_json(jwks_uri, transport)
    key_set(document)
    return document, headers.get("Cache-Control", "")


def key_set(document: dict) -> KeySet:
    try:
        return KeySet.import_key_set(document)
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise OidcError("bad_jwks", str(error)[:200]) from error


def key_id(id_token: str) -> str | None:
    """The `kid` the token's (not yet verified) header names, if any."""
    try:
        kid = jws.extract_compact(id_token.encode()).headers().get("kid")
    except (JoseError, ValueError, TypeError) as error:
        raise OidcError("bad_signature", str(error)[:200]) from error
    return kid if isinstance(kid, str) else None


def holds_key(keys: KeySet, kid: str) -> bool:
    try:
        keys.get_by_kid(kid)
    except (JoseError, ValueError):
        return False
    return True


def validate_id_token(
    id_token: str, *, keys: KeySet, issuer: str, client_id: str, nonce: str, now: int, leeway: int = 60
) -> dict:
    """The claims of a genuine, current ID token for us; OidcError otherwise."""
    try:
        token = jwt.decode(id_token, keys, algorithms=SIGNING_ALGORITHMS)
    except (JoseError, ValueError) as error:
        raise OidcError("bad_signature", str(error)[:200]) from error
    registry = jwt.JWTClaimsRegistry(
        now=now,
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        exp={"essential": True},
        iat={"essential": True},
        sub={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(token.claims)
    except JoseError as error:
        raise OidcError(getattr(error, "error", "invalid_claim"), str(error)[:200]) from error
    audience = token.claims.get("aud")
    # OIDC Core §3.1.3.7: with several audiences, azp must name us.
    if isinstance(audience, list) and len(audience) > 1 and token.claims.get("azp") != client_id:
        raise OidcError("invalid_azp")
    return token.claims
