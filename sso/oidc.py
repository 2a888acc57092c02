"""OpenID Connect relying party, as pure I/O: no ORM, no settings (callers pass configuration).

authlib builds the authorization request (state, nonce, PKCE S256) and exchanges the code;
joserfc verifies the ID token's signature against the issuer's JWKS and its iss, aud, exp,
iat and nonce. Every request goes over HTTPS to an address that domains.verifiers allows
(no private, link-local or metadata addresses), without following redirects.
"""

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from requests.adapters import HTTPAdapter
from requests.exceptions import RequestException

from domains.verifiers import is_forbidden_address

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
    """How to reach a provider: a CA bundle ("" for the system store), loopback for tests only."""

    ca_bundle: str = ""
    allow_loopback: bool = False
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


def vet_url(url: str, transport: Transport) -> None:
    """HTTPS only, to a host whose every address may be contacted."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise OidcError("not_https", url)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError as error:
        raise OidcError("unreachable", f"{parts.hostname}: {error}") from error
    for info in infos:
        reason = is_forbidden_address(info[4][0], transport.allow_loopback)
        if reason:
            raise OidcError("forbidden_address", f"{parts.hostname} resolves to {info[4][0]} ({reason})")


class _VettedAdapter(HTTPAdapter):
    def __init__(self, transport: Transport):
        super().__init__(max_retries=0)
        self.transport = transport

    def send(self, request, **kwargs):
        vet_url(request.url, self.transport)
        kwargs["timeout"] = self.transport.timeout_seconds
        return super().send(request, **kwargs)


def _vetted(session: requests.Session, transport: Transport):
    session.mount("https://", _VettedAdapter(transport))
    session.mount("http://", _VettedAdapter(transport))  # refuses: not https
    # No proxy or CA bundle from the environment: a proxy would reach what vet_url refused.
    session.trust_env = False
    session.verify = transport.ca_bundle or True
    session.max_redirects = 0
    return session


def new_session(transport: Transport, **client) -> OAuth2Session:
    """authlib's OAuth 2 client session, over vetted HTTPS only."""
    return _vetted(OAuth2Session(**client), transport)


def _get_json(url: str, transport: Transport) -> dict:
    try:
        with _vetted(requests.Session(), transport) as session:
            response = session.get(url, allow_redirects=False)
    except RequestException as error:
        raise OidcError("unreachable", f"{url}: {error}") from error
    if response.status_code != 200:
        raise OidcError("bad_status", f"{url}: HTTP {response.status_code}")
    if len(response.content) > MAX_DOCUMENT_BYTES:
        raise OidcError("too_large", url)
    try:
        document = response.json()
    except ValueError as error:
        raise OidcError("not_json", url) from error
    if not isinstance(document, dict):
        raise OidcError("not_json", url)
    return document


def discover(issuer: str, transport: Transport) -> ProviderMetadata:
    """The provider's endpoints from <issuer>/.well-known/openid-configuration (OIDC Discovery 1.0)."""
    issuer = issuer.strip().rstrip("/")
    vet_url(issuer, transport)
    document = _get_json(f"{issuer}/.well-known/openid-configuration", transport)
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


def fetch_keys(metadata: ProviderMetadata, transport: Transport) -> KeySet:
    try:
        return KeySet.import_key_set(_get_json(metadata.jwks_uri, transport))
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise OidcError("bad_jwks", str(error)[:200]) from error


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
