"""The identity provider's signing keys: cached per provider, fetched again once when the IdP
rotates its key, never fetched in a storm. Requests are counted at the loopback provider."""

import pytest
from django.core.cache import cache

from console.models import AuditEvent
from console.tests.factories import MembershipFactory
from sso import signing_keys

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(organization, domain):
    return MembershipFactory(organization=organization, user__email="alice@example.com").user


def signed_in(client, user) -> bool:
    return client.session.get("_auth_user_id") == str(user.pk)


def sign_in_again(client, sso_sign_in, email="alice@example.com"):
    client.logout()
    response, _callback = sso_sign_in(email)
    return response


def test_a_second_sign_in_uses_the_cached_keys(provider, alice, oidc_provider, sso_sign_in, client):
    sign_in_again(client, sso_sign_in)
    assert signed_in(client, alice)
    assert oidc_provider.counts()["jwks_requests"] == 1

    sign_in_again(client, sso_sign_in)
    assert signed_in(client, alice)
    counts = oidc_provider.counts()
    assert counts["token_requests"] == 2
    assert counts["jwks_requests"] == 1


def test_a_rotated_key_is_fetched_once_and_the_sign_in_succeeds(provider, alice, oidc_provider, sso_sign_in, client):
    sign_in_again(client, sso_sign_in)
    oidc_provider.rotate_key()

    response = sign_in_again(client, sso_sign_in)
    assert response.status_code == 302, response.content[:300]
    assert signed_in(client, alice)
    assert oidc_provider.counts()["jwks_requests"] == 2

    # The refreshed set is cached in turn: the next sign-in with the new key fetches nothing.
    sign_in_again(client, sso_sign_in)
    assert signed_in(client, alice)
    assert oidc_provider.counts()["jwks_requests"] == 2


def test_a_key_the_provider_does_not_publish_is_refused_after_one_refetch(
    provider, alice, oidc_provider, sso_sign_in, client
):
    sign_in_again(client, sso_sign_in)
    oidc_provider.behave(unpublished_key=True)

    response = sign_in_again(client, sso_sign_in)
    assert response.status_code == 400
    assert not signed_in(client, alice)
    assert "signed this sign-in with a key it does not publish" in response.content.decode()
    assert oidc_provider.counts()["jwks_requests"] == 2
    event = AuditEvent.objects.filter(action="sso.signin_refused").latest("pk")
    assert event.detail["reason"] == "unknown_key"
    assert "unpublished-1" in event.detail["detail"]


def test_unknown_key_ids_cause_no_refetch_storm(provider, alice, oidc_provider, sso_sign_in, client):
    sign_in_again(client, sso_sign_in)
    oidc_provider.behave(unpublished_key=True)
    for _attempt in range(5):
        response = sign_in_again(client, sso_sign_in)
        assert response.status_code == 400
    # One refetch for the first unknown key; the others within the minute are refused from the cache.
    assert oidc_provider.counts()["jwks_requests"] == 2

    # A real rotation inside that minute waits for the interval to pass, then works.
    oidc_provider.behave(unpublished_key=False)
    oidc_provider.rotate_key()
    assert sign_in_again(client, sso_sign_in).status_code == 400
    cache.delete(signing_keys._refetch_key(provider))  # the minute has passed
    assert sign_in_again(client, sso_sign_in).status_code == 302
    assert signed_in(client, alice)
    assert oidc_provider.counts()["jwks_requests"] == 3


def test_a_first_sign_in_with_an_unknown_key_fetches_the_keys_once(provider, alice, oidc_provider, sso_sign_in, client):
    oidc_provider.behave(unpublished_key=True)
    assert sign_in_again(client, sso_sign_in).status_code == 400
    assert oidc_provider.counts()["jwks_requests"] == 1


def test_reconfiguring_the_provider_drops_its_cached_keys(provider, alice, oidc_provider, sso_sign_in, client, owner):
    from sso import services

    sign_in_again(client, sso_sign_in)
    services.save_provider(
        organization=provider.organization, issuer=provider.issuer, client_id=provider.client_id, client_secret="",
        jit_provisioning=False, actor=owner,
    )
    sign_in_again(client, sso_sign_in)
    assert signed_in(client, alice)
    assert oidc_provider.counts()["jwks_requests"] == 2


def test_the_cached_keys_live_as_long_as_max_age_says_within_bounds(provider, alice, oidc_provider, sso_sign_in, client):
    from django.core.cache.backends.redis import RedisCache

    oidc_provider.behave(jwks_max_age=7200)
    sign_in_again(client, sso_sign_in)
    if isinstance(cache, RedisCache):
        ttl = cache._cache.get_client().ttl(cache.make_key(signing_keys._cache_key(provider)))
        assert 7100 < ttl <= 7200


@pytest.mark.parametrize(
    ("cache_control", "seconds"),
    [
        ("max-age=3600", 3600),
        ("public, max-age=7200, must-revalidate", 7200),
        ("max-age=10", 300),
        ("max-age=0", 300),
        ("max-age=31536000", 86400),
        ("no-store", 300),
        ("no-cache", 300),
        ("", 300),
        ("max-age=banana", 300),
    ],
)
def test_the_lifetime_honours_max_age_between_five_minutes_and_a_day(cache_control, seconds):
    assert signing_keys.lifetime(cache_control) == seconds
