"""An organization with an Owner, an Administrator and tokens; a client that sends a token."""

import pytest
from rest_framework.test import APIClient

from api import tokens
from api.models import Scope
from console.models import Membership
from console.tests.factories import MembershipFactory, OrganizationFactory

ALL_SCOPES = list(Scope.values)


class TokenClient(APIClient):
    """REST framework's test client with `Authorization: Bearer <token>` on every request."""

    def __init__(self, secret: str | None = None, language: str = "en", **kwargs):
        super().__init__(**kwargs)
        headers = {"HTTP_ACCEPT_LANGUAGE": language}
        if secret:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
        self.credentials(**headers)


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Acme Corp", features=["bulk_user_import"])


@pytest.fixture
def org_owner(org):
    return MembershipFactory(organization=org, role=Membership.Role.OWNER, user__email="owner@acme-corp.example").user


@pytest.fixture
def org_admin(org):
    return MembershipFactory(
        organization=org, role=Membership.Role.ADMINISTRATOR, user__email="admin@acme-corp.example"
    ).user


@pytest.fixture
def make_token(org, org_owner):
    """make_token(scopes=[...], created_by=user, organization=org, **options) -> (token, secret)."""

    def make(scopes=ALL_SCOPES, *, created_by=None, organization=None, name="Pipeline", **options):
        return tokens.create_token(
            organization=organization or org,
            name=name,
            scopes=scopes,
            created_by=created_by or org_owner,
            actor=created_by or org_owner,
            **options,
        )

    return make


@pytest.fixture
def api(make_token):
    """A client with an all-scopes token of the Owner."""
    _token, secret = make_token()
    return TokenClient(secret)


@pytest.fixture
def api_token(make_token):
    return make_token()


def pytest_terminal_summary(terminalreporter):
    """How much schemathesis ran, for the CI log."""
    import sys

    module = sys.modules.get("api.tests.test_schemathesis")
    if module is not None and (module.COUNTS["cases"] or module.COUNTS["stateful_calls"]):
        counts = module.COUNTS
        terminalreporter.write_line(
            f"schemathesis: {len(counts['operations'])} operations, {counts['cases']} test cases sent; "
            f"{counts['stateful_calls']} calls in linked sequences (statuses {dict(sorted(counts['stateful_statuses'].items()))})"
        )
