"""Schemathesis against the Django app (its WSGI handler, in-process) with a valid token: every
operation of /api/v1/schema, generated from the schema itself. No 5xx; every response's
status, content type, headers and body conform to the schema; unauthenticated calls are 401.

Examples per operation are bounded (SCHEMATHESIS_MAX_EXAMPLES, default 25) to keep CI quick.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from api import tokens
from api.models import Scope
from console.models import Membership
from console.tests.factories import MembershipFactory, OrganizationFactory
from domains.tests.factories import DomainFactory
from imports import services as import_services
from imports.tests.factories import UserFactory

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
# Reported at the end of the run (api/tests/conftest.py): operations covered, cases sent.
COUNTS = {"operations": set(), "cases": 0, "stateful_calls": 0, "stateful_statuses": {}}


# A value the schema allows can still break a rule the schema cannot express (a domain must not
# be a public suffix, an address must be at a verified domain): the API answers 422 with the
# reason, which is a correct answer to schema-valid data, not a rejection of the schema. Likewise
# a generated If-Match is a stale ETag: 412.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "412", "422", "429"]
            },
        },
    }
)
# The same examples on every run, so CI cannot fail by chance; SCHEMATHESIS_RANDOM=1 explores anew.
DERANDOMIZE = os.environ.get("SCHEMATHESIS_RANDOM") != "1"


def _load_schema():
    from django.core.wsgi import get_wsgi_application

    # The schema needs no database: it is read from the app itself, as a client would.
    return schemathesis.openapi.from_wsgi("/api/v1/schema", get_wsgi_application(), config=CONFIG)


schema = _load_schema()
# The token of the running test (made by its fixture); schemathesis asks for it per case.
_current = {"token": None}


@schema.auth()
class TokenAuth:
    """Through schemathesis' auth hook, so the cases that test a missing token stay without one."""

    def get(self, case, context):
        return _current["token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@pytest.fixture
def api_world(db, settings, dns_settings):
    """An organization with domains, users, a ready import report and an all-scopes token.
    DNS checks ask the loopback server only; rate limits are out of the way of the fuzzer."""
    settings.API_RATE_PER_TOKEN = 100_000
    settings.VERIFY_RATE_PER_DOMAIN = settings.VERIFY_RATE_PER_ORGANIZATION = 100_000
    settings.DNS_TIMEOUT_SECONDS = 0.2
    organization = OrganizationFactory(name="Fuzz Corp", features=["bulk_user_import"])
    owner = MembershipFactory(organization=organization, role=Membership.Role.OWNER, user__email="owner@fuzz.example").user
    MembershipFactory(organization=organization, user__email="member@fuzz.example")
    domain = DomainFactory(organization=organization, name="fuzz.example")
    DomainFactory(organization=organization, name="pending.fuzz.example", pending=True)
    for i in range(3):
        UserFactory(email=f"person{i}@fuzz.example")
    job = import_services.create_report_job(domain=domain, actor=owner, enqueue=False)
    import_services.build_report(job.pk)
    _token, secret = tokens.create_token(
        organization=organization, name="Schemathesis", scopes=Scope.values, created_by=owner, actor=owner
    )
    return secret


@pytest.fixture
def token(api_world):
    """Requests go through Django's own WSGI handler inside the test's transaction: keep it
    from closing the connection at the end of each request, as Django's test client does."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    _current["token"] = api_world
    try:
        yield api_world
    finally:
        _current["token"] = None
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db(transaction=False)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_to_the_schema(case, token):
    COUNTS["cases"] += 1
    COUNTS["operations"].add(case.operation.label)
    case.call_and_validate()


STATEFUL_EXAMPLES = int(os.environ.get("SCHEMATHESIS_STATEFUL_EXAMPLES", "15"))


@pytest.mark.django_db
def test_linked_operations_in_sequence(token):
    """Follow the schema's links: add a domain, a user or an import job, then use its id in the
    operations the create response links to (get, change, verify, rows, start, delete ...)."""

    class Workflow(schema.as_state_machine()):
        def before_call(self, case):
            # As the auth hook does for single calls; the missing-token checks replay without it.
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
            case._has_explicit_auth = True  # what the auth hook marks, so the check knows what to strip

        def after_call(self, response, case):
            super().after_call(response, case)
            COUNTS["stateful_calls"] += 1
            COUNTS["stateful_statuses"][response.status_code] = COUNTS["stateful_statuses"].get(response.status_code, 0) + 1

    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=6,
            deadline=None,
            derandomize=DERANDOMIZE,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert COUNTS["stateful_calls"] > STATEFUL_EXAMPLES  # scenarios of several linked steps ran
    assert any(200 <= status < 300 for status in COUNTS["stateful_statuses"])
