"""The identity providers' signing keys (JWKS), cached per provider in Django's cache.

A key set is kept as long as its answer's Cache-Control max-age asks, within [5 minutes,
24 hours], so a sign-in does not fetch it each time. An ID token naming a key ID the cached set
lacks (the IdP rotated its keys) makes us fetch the set again before refusing — at most once a
minute per provider, so tokens with made-up key IDs cannot make us hammer the IdP.
"""

import hashlib

from django.core.cache import cache
from django.http import HttpResponse
from django.utils.cache import get_max_age
from joserfc.jwk import KeySet

from sso import oidc
from sso.models import IdentityProvider

MIN_LIFETIME_SECONDS = 5 * 60
MAX_LIFETIME_SECONDS = 24 * 60 * 60
REFETCH_INTERVAL_SECONDS = 60


def lifetime(cache_control: str) -> int:
    """Seconds to keep a key set: its max-age within the bounds; the lower bound without one."""
    max_age = get_max_age(HttpResponse(headers={"Cache-Control": cache_control})) if cache_control else None
    return min(MAX_LIFETIME_SECONDS, max(MIN_LIFETIME_SECONDS, max_age or 0))


def _cache_key(provider: IdentityProvider) -> str:
    # The JWKS address is part of the key: a reconfigured provider never gets its old keys.
    return f"sso:jwks:{provider.pk}:{hashlib.sha256(provider.jwks_uri.encode()).hexdigest()[:16]}"


def _refetch_key(provider: IdentityProvider) -> str:
    return f"rl:sso:jwks-refetch:{provider.pk}"


def _fetch(provider: IdentityProvider, transport: oidc.Transport) -> KeySet:
    document, cache_control = oidc.fetch_key_set(provider.jwks_uri, transport)
    cache.set(_cache_key(provider), document, lifetime(cache_control))
    return oidc.key_set(document)


def keys_for_token(*, provider: IdentityProvider, id_token: str, transport: oidc.Transport) -> KeySet:
    """The provider's key set, holding the key the ID token names when the IdP publishes it.

    From the cache, or fetched and cached. When the token names a key the cached set lacks,
    the set is fetched once more (at most once a minute per provider); OidcError("unknown_key")
    when it still lacks the key. A token without a key ID gets the set as it is.
    """
    kid = oidc.key_id(id_token)
    document = cache.get(_cache_key(provider))
    if document is None:
        keys = _fetch(provider, transport)
    else:
        keys = oidc.key_set(document)
        if kid is not None and not oidc.holds_key(keys, kid) and cache.add(
            _refetch_key(provider), 1, REFETCH_INTERVAL_SECONDS
        ):
            keys = _fetch(provider, transport)
    if kid is not None and not oidc.holds_key(keys, kid):
        raise oidc.OidcError("unknown_key", kid[:100])
    return keys


def forget(provider: IdentityProvider) -> None:
    """Drop the cached keys (the provider was reconfigured or removed)."""
    cache.delete(_cache_key(provider))
