"""No one sees or changes another organization's data.

Built from the URL patterns, like tests/test_security.py: every route that takes an integer
id is filled with the id of ANOTHER organization's object (OBJECT_KINDS says which kind of
object each route's id names; a new route missing from it fails the test), requested with
GET and POST by an Administrator of organization B, and must answer 404 — the same answer as
for an id that does not exist, so it reveals nothing — while nothing of organization A changes.
A Member of A gets 403 on every Admin Center URL; B's pages never mention A.

The API (/api/v1, names "api:…") authenticates with organization tokens instead of a session:
its id routes are requested with B's token, with every method, and must answer the same 404.
"""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.support.two_organizations import build_world, organization_snapshot

pytestmark = pytest.mark.django_db

SKIP_PREFIXES = ("django-admin/", "static/")

# Routes anyone may open (signed out, or signed in without an Admin Center role).
PUBLIC_NAMES = {
    "health",
    "metrics",
    "set_language",
    "console:login",
    "console:logout",
    "console:sign_up",
    "console:sign_up_done",
    "console:resend_verification",
    "console:verify_email",
    "console:set_password",
    "console:set_password_done",
    "console:password_reset",
    "console:password_reset_done",
    # Any signed-in user changes their own password.
    "console:password_change",
    "console:password_change_done",
    # A user's own second factors: any signed-in user, whatever their role (mfa/tests cover them).
    "mfa:security",
    "mfa:challenge",
    "mfa:challenge_key_options",
    "mfa:reauthenticate",
    "mfa:reauthenticate_key_options",
    "mfa:totp_add",
    "mfa:totp_remove",
    "mfa:key_options",
    "mfa:key_add",
    "mfa:key_remove",
    "mfa:recovery_codes",
    "sign_in",
    "sso:start",
    "sso:oidc_callback",
    # SAML: our SP metadata and the ACS the IdP posts to, named by a random key, not an id.
    "sso:saml_metadata",
    "sso:saml_acs",
}

# For every route with an int converter: which object of an organization the id names.
# Each kind maps to the Side attributes holding such objects (all are tried).
OBJECT_KINDS = {
    ("domains:detail", "pk"): "domain",
    ("domains:verify", "pk"): "domain",
    ("domains:verify_now", "pk"): "domain",
    ("domains:method", "pk"): "domain",
    ("domains:html_file", "pk"): "domain",
    ("domains:settings", "pk"): "domain",
    ("domains:delete", "pk"): "domain",
    ("domains:add_back", "pk"): "domain",
    ("imports:domain", "domain_id"): "domain",
    ("imports:request_access", "domain_id"): "domain",
    ("imports:report_create", "domain_id"): "domain",
    ("imports:job", "job_id"): "job",
    ("imports:job_progress", "job_id"): "job",
    ("imports:job_users", "job_id"): "job",
    ("imports:job_csv", "job_id"): "job",
    ("imports:job_notify", "job_id"): "job",
    ("imports:job_select", "job_id"): "job",
    ("imports:job_start", "job_id"): "job",
    ("imports:job_check_new", "job_id"): "job",
    ("console:user_change_role", "pk"): "membership",
    ("console:user_remove", "pk"): "membership",
    ("console:user_resend_invitation", "pk"): "membership",
    ("console:audit_detail", "pk"): "audit_event",
    ("api_tokens:revoke", "pk"): "api_token",
    ("webhooks:detail", "pk"): "webhook_endpoint",
    ("webhooks:edit", "pk"): "webhook_endpoint",
    ("webhooks:delete", "pk"): "webhook_endpoint",
    ("webhooks:rotate", "pk"): "webhook_endpoint",
    ("webhooks:test", "pk"): "webhook_endpoint",
    ("webhooks:redeliver", "pk"): "webhook_delivery",
    ("mfa:key_remove", "pk"): "security_key",
    ("sso:domain_requirement", "pk"): "domain",
    ("api:domain", "pk"): "domain",
    ("api:domain_verify", "pk"): "domain",
    ("api:domain_html_file", "pk"): "domain",
    ("api:user", "pk"): "membership",
    ("api:import_job", "pk"): "job",
    ("api:import_job_rows", "pk"): "job",
    ("api:import_job_csv", "pk"): "job",
    ("api:import_job_notify", "pk"): "job",
    ("api:import_job_start", "pk"): "job",
    ("api:import_job_check_new", "pk"): "job",
    ("api:audit_event", "pk"): "audit_event",
}
KIND_ATTRIBUTES = {
    "domain": ("domain", "pending_domain"),
    "job": ("ready_job", "completed_job"),
    "membership": ("owner_membership", "administrator_membership", "member_membership"),
    "audit_event": ("audit_event",),
    "api_token": ("api_token",),
    "webhook_endpoint": ("webhook_endpoint",),
    "webhook_delivery": ("webhook_delivery",),
    "security_key": ("security_key",),
}
# The API's routes: token-authenticated, so the session-based tests below skip them.
API_NAMESPACE = "api:"
# API routes anyone may read (the schema and its docs) or that name no resource.
API_PUBLIC_NAMES = {"api:schema", "api:docs", "api:not_found"}
MISSING_ID = 987_654_321


def _walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, route, inner)
        elif isinstance(entry, URLPattern):
            yield route, f"{namespace}{entry.name}" if entry.name else ""


def all_named_routes() -> list[tuple[str, str]]:
    return sorted({(r, n) for r, n in _walk(get_resolver().url_patterns) if not r.startswith(SKIP_PREFIXES)})


def console_routes() -> list[tuple[str, str]]:
    return [(route, name) for route, name in all_named_routes() if not name.startswith(API_NAMESPACE)]


def api_routes() -> list[tuple[str, str]]:
    return [(route, name) for route, name in all_named_routes() if name.startswith(API_NAMESPACE)]


def int_routes() -> list[str]:
    return [route for route, _ in all_named_routes() if "<int:" in route]


def _int_kwargs(route: str) -> list[str]:
    return re.findall(r"<int:(\w+)>", route)


def _fill(route: str, values: dict) -> str:
    def replace(match):
        converter, name = match.group(1), match.group(2)
        if name in values:
            return str(values[name])
        return {"int": "1", "uuid": "00000000-0000-0000-0000-000000000001"}.get(converter or "str", "x")

    path = re.sub(r"<(?:(\w+):)?(\w+)>", replace, route)
    return "/" + path.replace("^", "").replace("$", "")


def _post_data(side) -> dict:
    """Valid-looking data for every form, aimed at `side`'s objects."""
    rows = [str(pk) for pk in side.ready_rows]
    return {
        "role": "owner",
        "method": "https",
        "auto_add_new_users": "",
        "mode": "all",
        "row": rows,
        "page_rows": rows,
        "domain": "fresh-name.example",
        "email": f"new@{side.domain.name}",
        "url": f"https://hooks.{side.domain.name}/changed",
        "enabled": "on",
    }


def _id_cases(world, routes=None):
    """(route, name, kwarg, A's id) for every int route and every object of the right kind."""
    for route, name in console_routes() if routes is None else routes:
        for kwarg in _int_kwargs(route):
            kind = OBJECT_KINDS.get((name, kwarg))
            assert kind is not None, (
                f"{route} ({name}) takes <int:{kwarg}> but tests/test_isolation.OBJECT_KINDS does not say "
                "which object it names: add it so the route is covered by the isolation tests"
            )
            for attribute in KIND_ATTRIBUTES[kind]:
                yield route, name, kwarg, getattr(world.a, attribute).pk


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db, clock, dns_settings):
    # dns_settings: should a check ever run by mistake, it asks the loopback server, not the Internet.
    return build_world()


def _client(user=None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def test_every_int_route_names_a_known_kind_of_object():
    routes = int_routes()
    assert len(routes) >= 20
    for route, name in all_named_routes():
        for kwarg in _int_kwargs(route):
            assert (name, kwarg) in OBJECT_KINDS, f"{route} ({name}): add <int:{kwarg}> to OBJECT_KINDS"
    assert set(OBJECT_KINDS) == {(n, k) for r, n in all_named_routes() for k in _int_kwargs(r)}, "stale entries"


def test_another_organizations_admin_gets_404_for_every_id_route(world):
    a_before = organization_snapshot(world.a.organization)
    client = _client(world.b.administrator)
    data = _post_data(world.a)
    checked = 0
    for route, name, kwarg, pk in _id_cases(world):
        path = _fill(route, {kwarg: pk})
        missing = _fill(route, {kwarg: MISSING_ID})
        for method in ("get", "post"):
            response = getattr(client, method)(path, data)
            baseline = getattr(client, method)(missing, data)
            assert response.status_code in (404, 405), f"{method.upper()} {path} ({name}) as B: {response.status_code}"
            # The same answer as for an id that does not exist: nothing to tell the two apart.
            assert response.status_code == baseline.status_code, f"{method.upper()} {path} differs from a missing id"
            if response.status_code == 404:
                assert response.content == baseline.content, f"{path}: the 404 page differs from a missing id's"
            checked += 1
        # At least the method the route accepts reached the object lookup.
        assert any(getattr(client, m)(path, data).status_code == 404 for m in ("get", "post")), path
    assert checked >= 2 * len(OBJECT_KINDS)
    assert organization_snapshot(world.a.organization) == a_before


def test_an_owner_of_another_organization_gets_404_too(world):
    """Owners pass more service checks than Administrators; the lookup refuses them first."""
    a_before = organization_snapshot(world.a.organization)
    client = _client(world.b.owner)
    data = _post_data(world.a)
    for route, _name, kwarg, pk in _id_cases(world):
        path = _fill(route, {kwarg: pk})
        assert client.post(path, data).status_code in (404, 405), path
        assert client.get(path).status_code in (404, 405), path
    assert organization_snapshot(world.a.organization) == a_before


def test_b_can_use_its_own_ids_so_the_404s_are_not_an_accident(world):
    """The same routes with B's own objects answer (the 404 above is about ownership)."""
    client = _client(world.b.administrator)
    for route, name, kwarg in {(r, n, k) for r, n, k, _ in _id_cases(world)}:
        kind = OBJECT_KINDS[(name, kwarg)]
        own = getattr(world.b, KIND_ATTRIBUTES[kind][0]).pk
        responses = [client.get(_fill(route, {kwarg: own})).status_code]
        if responses[0] not in (200, 302):
            # POST-only routes: a GET is refused by method (405), never by ownership.
            assert responses[0] == 405, f"GET {route} with B's own id: {responses[0]}"


def test_selected_rows_of_another_organization_are_ignored(world):
    """B posts A's row ids to B's own job: A's rows do not change, and B's selection holds none of them."""
    a_before = organization_snapshot(world.a.organization)
    client = _client(world.b.owner)
    a_rows = [str(pk) for pk in world.a.ready_rows]
    response = client.post(
        reverse("imports:job_select", args=[world.b.ready_job.pk]), {"row": a_rows, "page_rows": a_rows}
    )
    assert response.status_code == 302
    response = client.post(reverse("imports:job_start", args=[world.b.ready_job.pk]), {"mode": "selected"})
    assert response.status_code == 302
    from imports.models import ImportJob, ImportRow

    assert ImportJob.objects.get(pk=world.b.ready_job.pk).status == ImportJob.Status.REPORT_READY  # none selected
    assert not ImportRow.objects.filter(job__organization=world.b.organization, selected=True).exists()
    assert organization_snapshot(world.a.organization) == a_before


def test_the_users_of_another_organizations_import_are_404(world):
    client = _client(world.b.owner)
    response = client.get(reverse("imports:job_users", args=[world.a.completed_job.pk]))
    assert response.status_code == 404
    assert "acme.test" not in response.content.decode()


def test_bs_pages_never_mention_a(world):
    """Every Admin Center page of B, filled with B's own ids, shows nothing of A."""
    client = _client(world.b.owner)
    own_ids = {kind: getattr(world.b, attrs[0]).pk for kind, attrs in KIND_ATTRIBUTES.items()}
    pages = 0
    for route, name in console_routes():
        if name in PUBLIC_NAMES:
            continue
        values = {kwarg: own_ids[OBJECT_KINDS[(name, kwarg)]] for kwarg in _int_kwargs(route)}
        response = client.get(_fill(route, values), {"page": "1"})
        if response.status_code != 200:
            continue
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode("utf-8-sig")
        for secret in ("acme.test", "Acme", world.a.domain.token, world.a.pending_domain.token):
            assert secret not in text, f"{route} shows {secret!r} to another organization"
        pages += 1
    assert pages >= 15


def test_a_member_gets_403_on_every_admin_center_url(world):
    member = _client(world.a.member)
    owner = _client(world.a.owner)
    a_before = organization_snapshot(world.a.organization)  # after signing in, which is audited
    data = _post_data(world.a)
    own_ids = {kind: getattr(world.a, attrs[0]).pk for kind, attrs in KIND_ATTRIBUTES.items()}
    routes = 0
    for route, name in console_routes():
        if name in PUBLIC_NAMES:
            continue
        values = {kwarg: own_ids[OBJECT_KINDS[(name, kwarg)]] for kwarg in _int_kwargs(route)}
        path = _fill(route, values)
        assert member.post(path, data).status_code == 403, f"POST {path} as a member"
        get_status = member.get(path).status_code
        if get_status != 403:
            # Only a route that refuses GET to everyone may answer 405 before the role check.
            assert get_status == 405 and owner.get(path).status_code == 405, f"GET {path} as a member: {get_status}"
        routes += 1
    assert routes >= 25
    assert organization_snapshot(world.a.organization) == a_before


def test_signed_out_visitors_are_sent_to_sign_in_from_every_admin_center_url(world):
    client = _client()
    for route, name in console_routes():
        if name in PUBLIC_NAMES:
            continue
        path = _fill(route, {kwarg: 1 for kwarg in _int_kwargs(route)})
        response = client.post(path, {})
        assert response.status_code == 302 and response["Location"].startswith(reverse("console:login")), path


def test_a_user_without_an_organization_gets_403(world):
    from console.models import User

    loner = User.objects.create_user("loner@elsewhere.example", password="x-Secret-123", email_verified=True)
    client = _client(loner)
    for route, name in console_routes():
        if name in PUBLIC_NAMES:
            continue
        path = _fill(route, {kwarg: world.a.domain.pk for kwarg in _int_kwargs(route)})
        assert client.post(path, {}).status_code == 403, path


# --- The API: tokens instead of sessions ---------------------------------------------------------

API_METHODS = ("get", "post", "patch", "put", "delete")


def _api_client(side=None) -> Client:
    client = Client(raise_request_exception=False)
    if side is not None:
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {side.api_secret}"
    return client


def _api_request(client, method, path, data):
    if method == "get":
        return client.get(path)
    return getattr(client, method)(path, data, content_type="application/json")


def test_another_organizations_token_gets_404_for_every_api_id_route(world):
    a_before = organization_snapshot(world.a.organization)
    client = _api_client(world.b)
    data = {**_post_data(world.a), "row_ids": world.a.ready_rows, "auto_add_new_users": False}
    cases = list(_id_cases(world, api_routes()))
    assert {name for _route, name, _kwarg, _pk in cases} == {n for r, n in api_routes() if "<int:" in r}
    for route, name, kwarg, pk in cases:
        path, missing = _fill(route, {kwarg: pk}), _fill(route, {kwarg: MISSING_ID})
        answered = False
        for method in API_METHODS:
            response = _api_request(client, method, path, data)
            baseline = _api_request(client, method, missing, data)
            assert response.status_code in (404, 405), f"{method.upper()} {path} ({name}) with B's token: {response.status_code}"
            assert response.status_code == baseline.status_code, f"{method.upper()} {path} differs from a missing id"
            if response.status_code == 404:
                assert response.content == baseline.content, f"{path}: the 404 differs from a missing id's"
                answered = True
        assert answered, f"no method of {path} reached the object lookup"
    assert organization_snapshot(world.a.organization) == a_before


def test_b_can_use_its_own_ids_through_the_api(world):
    client = _api_client(world.b)
    for route, name, kwarg in {(r, n, k) for r, n, k, _ in _id_cases(world, api_routes())}:
        own = getattr(world.b, KIND_ATTRIBUTES[OBJECT_KINDS[(name, kwarg)]][0]).pk
        statuses = {m: _api_request(client, m, _fill(route, {kwarg: own}), {}).status_code for m in ("get", "post")}
        assert any(status not in (404, 405) for status in statuses.values()), f"{route} with B's own id: {statuses}"


def test_bs_api_reads_never_mention_a(world):
    client = _api_client(world.b)
    own_ids = {kind: getattr(world.b, attrs[0]).pk for kind, attrs in KIND_ATTRIBUTES.items()}
    reads = 0
    for route, name in api_routes():
        if name in API_PUBLIC_NAMES:
            continue
        values = {kwarg: own_ids[OBJECT_KINDS[(name, kwarg)]] for kwarg in _int_kwargs(route)}
        response = client.get(_fill(route, values))
        if response.status_code != 200:
            continue
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode("utf-8-sig")
        for secret in ("acme.test", "Acme", world.a.domain.token, world.a.pending_domain.token):
            assert secret not in text, f"{route} shows {secret!r} to another organization"
        reads += 1
    assert reads >= 12
    exported = b"".join(client.get("/api/v1/audit-events/export").streaming_content).decode()
    assert "acme.test" not in exported and "Acme" not in exported


def test_every_api_route_but_the_docs_needs_a_token(world):
    anonymous, member_session = _api_client(), Client(raise_request_exception=False)
    member_session.force_login(world.a.owner)  # a signed-in console session is not a token
    for route, name in api_routes():
        if name in API_PUBLIC_NAMES:
            continue
        path = _fill(route, {kwarg: world.a.domain.pk for kwarg in _int_kwargs(route)})
        for client in (anonymous, member_session):
            for method in ("get", "post"):
                response = _api_request(client, method, path, {})
                assert response.status_code in (401, 405), f"{method.upper()} {path} without a token"
