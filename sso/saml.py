"""SAML 2.0 service provider, as pure I/O: no ORM, no settings (callers pass configuration).

pysaml2 builds our SP metadata and the AuthnRequest (HTTP-Redirect), and checks the IdP's
Response (HTTP-POST): the assertion's XML signature against the certificates in the IdP's
metadata (xmlsec1), Issuer, Audience, Destination and Recipient, the time conditions and
InResponseTo against the one request we name as outstanding (unsolicited responses refused).
It parses every document with defusedxml; we refuse a DTD before it sees one. Metadata by URL
comes over the same vetted HTTPS as the OIDC code (sso.oidc).
"""

import base64
import shutil
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import defusedxml.ElementTree
import requests
import saml2
from defusedxml import DefusedXmlException
from requests.exceptions import RequestException
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.mdstore import MetadataStore
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_UNSPECIFIED
from saml2.time_util import str_to_time

from sso.oidc import OidcError, Transport, _vetted

MAX_METADATA_BYTES = 1024 * 1024  # Entra ID's federation metadata is ~60 KB
MAX_RESPONSE_BYTES = 256 * 1024
# SHA-1 signatures can be forged with a chosen-prefix collision; Okta and Entra ID sign with SHA-256.
WEAK_ALGORITHMS = {
    "http://www.w3.org/2000/09/xmldsig#sha1",
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "http://www.w3.org/2000/09/xmldsig#dsa-sha1",
    "http://www.w3.org/2001/04/xmldsig-more#md5",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-md5",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1",
}
# Where the IdP may send the browser with our AuthnRequest, most preferred first.
SSO_BINDINGS = (BINDING_HTTP_REDIRECT,)


class SamlError(Exception):
    """The IdP or its answer could not be used; `reason` is a code the caller turns into words."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class IdentityProviderMetadata:
    entity_id: str
    sso_url: str
    sso_binding: str
    certificates: list[str]  # base64 DER, as in the metadata's X509Certificate
    xml: str


@dataclass(frozen=True)
class ServiceProvider:
    """Us, for one organization: the entity ID the IdP knows us by and where it posts answers."""

    entity_id: str
    acs_url: str


@dataclass(frozen=True)
class Assertion:
    """What a verified Response asserts about the person."""

    assertion_id: str
    issuer: str
    name_id: str
    name_id_format: str
    attributes: dict = field(default_factory=dict)
    not_on_or_after: datetime | None = None
    not_before: datetime | None = None


def xmlsec_binary() -> str:
    path = shutil.which("xmlsec1")
    if not path:
        raise SamlError("no_xmlsec", "the xmlsec1 program is not installed")
    return path


def fetch_metadata(url: str, transport: Transport) -> bytes:
    """The IdP's metadata document, over vetted, pinned HTTPS, at most MAX_METADATA_BYTES."""
    try:
        with _vetted(requests.Session(), replace(transport, max_bytes=MAX_METADATA_BYTES)) as session:
            response = session.get(url, allow_redirects=False)
    except OidcError as error:
        raise SamlError(error.reason, error.detail) from error
    except RequestException as error:
        raise SamlError("unreachable", f"{url}: {error}") from error
    if response.status_code != 200:
        raise SamlError("bad_status", f"{url}: HTTP {response.status_code}")
    return response.content


def _refuse_dtd(xml: bytes) -> None:
    """defusedxml forbids entities but allows a DTD by default; a metadata document never needs one."""
    try:
        defusedxml.ElementTree.fromstring(xml, forbid_dtd=True)
    except DefusedXmlException as error:
        raise SamlError("dtd_forbidden", type(error).__name__) from error
    except Exception as error:  # ParseError and friends: not XML at all
        raise SamlError("not_xml", str(error)[:200]) from error


def _metadata_store(xml: str) -> MetadataStore:
    config = SPConfig()
    config.xmlsec_binary = xmlsec_binary()
    store = MetadataStore(attrc=None, config=config)
    store.load("inline", xml)
    return store


def parse_metadata(xml: bytes) -> IdentityProviderMetadata:
    """The one IdP a metadata document describes: entity ID, HTTP-Redirect SSO URL, signing certificates."""
    if len(xml) > MAX_METADATA_BYTES:
        raise SamlError("too_large")
    _refuse_dtd(xml)
    try:
        text = xml.decode("utf-8")
        store = _metadata_store(text)
    except SamlError:
        raise
    except Exception as error:  # pysaml2 raises many kinds for a malformed or expired document
        raise SamlError("bad_metadata", str(error)[:200]) from error
    providers = list(store.identity_providers())
    if len(providers) != 1:
        raise SamlError("not_one_idp", str(len(providers)))
    entity_id = providers[0]
    sso_url = binding = ""
    for candidate in SSO_BINDINGS:
        services = store.single_sign_on_service(entity_id, candidate)
        if services:
            sso_url, binding = services[0]["location"], candidate
            break
    if not sso_url:
        raise SamlError("no_redirect_binding")
    if not sso_url.lower().startswith("https://"):
        raise SamlError("not_https", sso_url[:200])
    certificates = [certificate for _name, certificate in store.certs(entity_id, "idpsso", "signing")]
    if not certificates:
        raise SamlError("no_signing_certificate")
    return IdentityProviderMetadata(
        entity_id=entity_id, sso_url=sso_url, sso_binding=binding, certificates=certificates, xml=text
    )


def _config(sp: ServiceProvider, idp_metadata_xml: str = "", *, accepted_time_diff: int = 60) -> SPConfig:
    config = SPConfig()
    config.load(
        {
            "entityid": sp.entity_id,
            "xmlsec_binary": xmlsec_binary(),
            "accepted_time_diff": accepted_time_diff,
            "metadata": {"inline": [idp_metadata_xml]} if idp_metadata_xml else {},
            "service": {
                "sp": {
                    "endpoints": {"assertion_consumer_service": [(sp.acs_url, BINDING_HTTP_POST)]},
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    "allow_unsolicited": False,
                    # Okta and Entra ID sign the assertion by default; a signed response alone
                    # would leave the assertion inside it open to wrapping.
                    "want_assertions_signed": True,
                    "want_response_signed": False,
                    "authn_requests_signed": False,
                    "logout_requests_signed": False,
                }
            },
        }
    )
    return config


def sp_metadata(sp: ServiceProvider) -> str:
    """Our SP metadata (entity ID, ACS with HTTP-POST, e-mail NameID) for the IdP to import."""
    descriptor = entity_descriptor(_config(sp))
    return str(descriptor)


def authn_request(sp: ServiceProvider, idp: IdentityProviderMetadata) -> tuple[str, str]:
    """(request ID, the IdP URL carrying our AuthnRequest by HTTP-Redirect)."""
    client = Saml2Client(config=_config(sp, idp.xml))
    request_id, info = client.prepare_for_authenticate(
        entityid=idp.entity_id, binding=BINDING_HTTP_REDIRECT, nameid_format=NAMEID_FORMAT_EMAILADDRESS
    )
    location = dict(info["headers"])["Location"]
    return request_id, location


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime(*str_to_time(value)[:6], tzinfo=UTC)


def parse_response(sp: ServiceProvider, idp: IdentityProviderMetadata, saml_response: str, *, request_id: str) -> Assertion:
    """The assertion of a genuine, current Response to our request `request_id`; SamlError otherwise."""
    if not saml_response or len(saml_response) > MAX_RESPONSE_BYTES:
        raise SamlError("no_response" if not saml_response else "too_large")
    try:
        xml = base64.b64decode(saml_response, validate=False)
    except ValueError as error:
        raise SamlError("not_base64") from error
    _refuse_dtd(xml)
    client = Saml2Client(config=_config(sp, idp.xml))
    try:
        response = client.parse_authn_request_response(
            saml_response, BINDING_HTTP_POST, outstanding={request_id: ""}
        )
    except saml2.response.UnsolicitedResponse as error:
        raise SamlError("unsolicited", str(error)[:200]) from error
    except saml2.response.StatusError as error:
        raise SamlError("idp_refused", str(error)[:200]) from error
    except Exception as error:  # signature, audience, recipient, time: pysaml2 raises many kinds
        raise SamlError(_reason(error), f"{type(error).__name__}: {str(error)[:200]}") from error
    if response is None or response.assertion is None:
        raise SamlError("no_assertion")
    assertion = response.assertion
    if response.in_response_to != request_id:
        raise SamlError("unsolicited", str(response.in_response_to)[:100])
    weak = _weak_algorithms(assertion.signature) | _weak_algorithms(response.response.signature)
    if weak:
        raise SamlError("weak_algorithm", ", ".join(sorted(weak)))
    name_id = response.name_id
    not_on_or_after = [_time(assertion.conditions.not_on_or_after)] if assertion.conditions else []
    not_before = _time(assertion.conditions.not_before) if assertion.conditions else None
    for confirmation in assertion.subject.subject_confirmation:
        data = confirmation.subject_confirmation_data
        if data is not None:
            not_on_or_after.append(_time(data.not_on_or_after))
    ends = [moment for moment in not_on_or_after if moment is not None]
    return Assertion(
        assertion_id=str(assertion.id),
        issuer=str(assertion.issuer.text).strip() if assertion.issuer is not None else "",
        name_id=str(name_id.text).strip() if name_id is not None and name_id.text else "",
        name_id_format=str(name_id.format or NAMEID_FORMAT_UNSPECIFIED) if name_id is not None else "",
        attributes=_attributes(assertion),
        not_on_or_after=min(ends) if ends else None,
        not_before=not_before,
    )


def _weak_algorithms(signature) -> set[str]:
    if signature is None or signature.signed_info is None:
        return set()
    used = {signature.signed_info.signature_method.algorithm}
    used |= {reference.digest_method.algorithm for reference in signature.signed_info.reference if reference.digest_method}
    return used & WEAK_ALGORITHMS


def _attributes(assertion) -> dict[str, list[str]]:
    """Attribute statements by their Name as sent (no pysaml2 name mapping: IdPs name them differently)."""
    values: dict[str, list[str]] = {}
    for statement in assertion.attribute_statement:
        for attribute in statement.attribute:
            values.setdefault(attribute.name, []).extend(
                str(value.text).strip() for value in attribute.attribute_value if value.text
            )
    return values


# Where IdPs put the e-mail address when the NameID is not one (Okta: email; Entra ID: the
# emailaddress claim URI; LDAP-style IdPs: mail or its OID), and the display name.
EMAIL_ATTRIBUTES = (
    "email",
    "mail",
    "emailaddress",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
)
NAME_ATTRIBUTES = (
    "name",
    "displayname",
    "http://schemas.microsoft.com/identity/claims/displayname",
    "urn:oid:2.16.840.1.113730.3.1.241",
)


def _first(attributes: dict[str, list[str]], names: tuple[str, ...]) -> str:
    by_name = {name.lower(): values for name, values in attributes.items()}
    for name in names:
        for value in by_name.get(name, []):
            if value:
                return value
    return ""


def claims(assertion: Assertion) -> dict:
    """The assertion as the claims sso.services.complete_sign_in reads: e-mail from an
    emailAddress NameID, else from an e-mail attribute; name from a display-name attribute."""
    email = assertion.name_id if assertion.name_id_format == NAMEID_FORMAT_EMAILADDRESS else ""
    return {
        "email": email or _first(assertion.attributes, EMAIL_ATTRIBUTES),
        "sub": assertion.name_id,
        "name": _first(assertion.attributes, NAME_ATTRIBUTES),
    }


def _reason(error: Exception) -> str:
    name = type(error).__name__
    text = str(error).lower()
    if "signature" in name.lower() or "signed" in text or "signature" in text:
        return "bad_signature"
    if "audience" in text:
        return "wrong_audience"
    if "recipient" in text or "destination" in text:
        return "wrong_recipient"
    if "condition not ok" in text or "too old" in text or "expired" in text or "timeout" in name.lower():
        return "expired"
    return "invalid_response"
