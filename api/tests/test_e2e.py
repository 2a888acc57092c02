"""The README's curl session, end to end: requests against the live server, a real DNS server
on loopback for the TXT record, the operator command for the token, and Celery in eager mode
(in-process) standing in for the worker that builds the report and runs the import."""

import io
import time

import pytest
import requests
from celery import current_app
from django.core.management import call_command

from console.models import Membership
from console.tests.factories import MembershipFactory, OrganizationFactory
from imports.tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def eager_tasks():
    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = previous


def poll(session, url, *, until, seconds=10.0):
    """GET `url` until `until(body)` holds, as a pipeline would."""
    deadline = time.monotonic() + seconds
    while True:
        body = session.get(url, timeout=10).json()
        if until(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def test_the_readme_session(live_server, dns_server, dns_settings, eager_tasks):
    organization = OrganizationFactory(name="Example Corp")
    MembershipFactory(organization=organization, role=Membership.Role.OWNER, user__email="owner@example-corp.test")
    for name in ("ann", "ben"):
        AccountFactory(owner=UserFactory(email=f"{name}@example-corp.test"))

    # 1. An operator creates a token (the console's API tokens page does the same).
    out = io.StringIO()
    call_command(
        "create_api_token",
        "--organization",
        "Example Corp",
        "--scopes",
        "domains:read domains:write users:read imports:read imports:write audit:read",
        "--name",
        "Terraform",
        stdout=out,
    )
    token = out.getvalue().strip()
    api = requests.Session()
    api.headers.update({"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    base = f"{live_server.url}/api/v1"
    assert api.get(f"{base}/me", timeout=10).json()["organization"]["name"] == "Example Corp"

    # 2. Add the domain (retry-safe with an Idempotency-Key) and read the TXT record to publish.
    added = api.post(
        f"{base}/domains", json={"domain": "Example-Corp.test"}, headers={"Idempotency-Key": "add-example-corp"}, timeout=10
    )
    assert added.status_code == 201, added.text
    domain = added.json()
    retried = api.post(
        f"{base}/domains", json={"domain": "Example-Corp.test"}, headers={"Idempotency-Key": "add-example-corp"}, timeout=10
    )
    assert retried.status_code == 201 and retried.json()["id"] == domain["id"]
    record = api.get(f"{base}/domains/{domain['id']}", timeout=10).json()["verification"]
    assert record["txt_host"] == "_twilio.example-corp.test" and record["txt_type"] == "TXT"

    # 3. Verify before the record is there: not yet, with what was found.
    early = api.post(f"{base}/domains/{domain['id']}/verify", timeout=30).json()
    assert early["outcome"] == "not_yet" and early["check"]["detail"]

    # 4. Publish the record (Terraform would), verify, and poll until verified.
    dns_server.set_txt(record["txt_host"], record["txt_value"])
    verified = api.post(f"{base}/domains/{domain['id']}/verify", timeout=30).json()
    assert verified["outcome"] == "verified", verified
    body = poll(api, f"{base}/domains/{domain['id']}", until=lambda d: d["status"] == "verified")
    assert body["status"] == "verified" and body["verified_at"]

    # 5. Start an import: the report, its rows, then every eligible user.
    call_command("imports_feature", "grant", "Example Corp", stdout=io.StringIO())
    created = api.post(f"{base}/import-jobs", json={"domain": domain["id"]}, timeout=30)
    assert created.status_code == 201, created.text
    job_url = created.headers["Location"]
    job = poll(api, f"{live_server.url}{job_url}", until=lambda j: j["status"] == "report_ready")
    assert job["counts"]["eligible"] == 2
    rows = api.get(f"{live_server.url}{job_url}/rows?filter=eligible", timeout=10).json()["results"]
    assert sorted(row["email"] for row in rows) == ["ann@example-corp.test", "ben@example-corp.test"]
    started = api.post(f"{live_server.url}{job_url}/start", json={}, timeout=30)
    assert started.status_code == 202, started.text
    job = poll(api, f"{live_server.url}{job_url}", until=lambda j: j["status"] == "completed")
    assert job["counts"]["imported"] == 2
    users = api.get(f"{base}/users", timeout=10).json()["results"]
    assert {"ann@example-corp.test", "ben@example-corp.test"} <= {user["email"] for user in users}

    # 6. The audit log names the token for every write it made.
    export = api.get(f"{base}/audit-events/export?actor_kind=token", timeout=10).text.splitlines()
    assert any('"domain.added"' in line and '"Terraform"' in line for line in export)
    assert any('"imports.import_started"' in line for line in export)
