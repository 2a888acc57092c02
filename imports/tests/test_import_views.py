"""The Bulk User Import pages: flow, isolation, CSRF, CSV, query counts."""

import codecs
import csv
import io
import re

import pytest
from django.test import Client
from django.urls import reverse

from console.models import Membership
from domains.models import Domain
from imports import reports, services
from imports.models import AccessRequest, ImportJob, ImportRow
from imports.selectors import import_section_context
from imports.tests.conftest import make_world, population
from imports.tests.factories import (
    AccountFactory,
    ImportJobFactory,
    ImportRowFactory,
    MembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def ready_job(world):
    job = services.create_report_job(domain=world.domain, actor=world.admin, enqueue=False)
    services.build_report(job.pk)
    job.refresh_from_db()
    return job


def completed_job(world):
    job = ready_job(world)
    services.start_import(job=job, actor=world.admin, enqueue=False)
    services.run_import(job.pk)
    job.refresh_from_db()
    return job


def read_csv(response) -> list[list[str]]:
    raw = b"".join(response.streaming_content)
    assert raw.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_the_domain_page_links_to_the_import_for_a_verified_domain(admin_client, world):
    response = admin_client.get(reverse("imports:domain", args=[world.domain.pk]))
    assert response.status_code == 200
    assert b"Generate report" in response.content
    assert b"can never appear" in response.content


@pytest.mark.parametrize(
    ("status", "state", "words"),
    [
        (Domain.Status.PENDING, "pending", "once this domain is verified"),
        (Domain.Status.REVALIDATION_REQUIRED, "failing", "needs re-validation"),
    ],
)
def test_the_link_is_not_shown_for_a_pending_or_failing_domain_with_the_reason(admin_client, world, status, state, words):
    Domain.objects.filter(pk=world.domain.pk).update(status=status)
    world.domain.refresh_from_db()
    context = import_section_context(world.domain)
    assert context["import_section"]["state"] == state
    response = admin_client.get(reverse("imports:domain", args=[world.domain.pk]))
    assert words in response.content.decode()
    assert b'class="import-link"' not in response.content
    assert b"Generate report" not in response.content


def test_the_include_shows_the_link_for_a_verified_domain(world):
    from django.template.loader import render_to_string

    html = render_to_string("imports/domain_import_section.html", import_section_context(world.domain))
    assert "Import existing users of this domain and their accounts to this Organization" in html
    assert reverse("imports:domain", args=[world.domain.pk]) in html


def test_without_the_feature_the_page_explains_it_and_offers_request_access(client, db):
    world = make_world(feature=False)
    client.force_login(world.admin)
    url = reverse("imports:domain", args=[world.domain.pk])
    response = client.get(url)
    assert b"Request access" in response.content and b"enabled on request" in response.content
    response = client.post(reverse("imports:request_access", args=[world.domain.pk]), follow=True)
    assert b"Access was requested" in response.content
    assert AccessRequest.objects.filter(organization=world.organization, status="open").count() == 1
    # The report cannot be started without the feature, even by a hand-made POST.
    response = client.post(reverse("imports:report_create", args=[world.domain.pk]), follow=True)
    assert not ImportJob.objects.exists()
    assert b"not enabled" in response.content


def test_the_whole_flow_through_the_pages(
    admin_client, world, people, mailoutbox, django_capture_on_commit_callbacks, eager_tasks
):
    # Confirm page (no-JS fallback), then POST: the report job is queued on commit.
    assert admin_client.get(reverse("imports:report_create", args=[world.domain.pk])).status_code == 200
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(reverse("imports:report_create", args=[world.domain.pk]))
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("imports:job", args=[job.pk])
    assert len(callbacks) == 1
    page = admin_client.get(reverse("imports:job", args=[job.pk]))
    assert b"data-poll=" in page.content
    callbacks[0]()  # the worker runs the queued report (eager here)
    fragment = admin_client.get(reverse("imports:job_progress", args=[job.pk]))
    assert b"data-poll-done" in fragment.content
    page = admin_client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "alice@example.com" in page and "Managed by another organization" in page
    assert "Download CSV" in page and 'id="notice-ja"' in page and "Start import" in page
    # Notify.
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("imports:job_notify", args=[job.pk]))
    assert len(mailoutbox) == 2
    # Select alice only, then import the selection.
    alice = ImportRow.objects.get(job=job, email="alice@example.com")
    bob = ImportRow.objects.get(job=job, email="bob@example.com")
    admin_client.post(reverse("imports:job_select", args=[job.pk]), {"page_rows": [alice.pk, bob.pk], "row": [alice.pk]})
    assert admin_client.get(reverse("imports:job_start", args=[job.pk])).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("imports:job_start", args=[job.pk]), {"mode": "selected"})
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETED
    assert Membership.objects.filter(organization=world.organization, joined_via="imported").count() == 1
    page = admin_client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "1 of the 1 selected users was imported." in page
    assert reverse("imports:job_users", args=[job.pk]) in page
    # The user left out is "not selected", not a failure.
    assert "1 eligible user was not selected for this import." in page
    assert "could not be imported" not in page
    assert '<span class="badge not_selected">not selected</span>' in page
    assert "Check for new users" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("imports:job_check_new", args=[job.pk]))
    new_job = ImportJob.objects.exclude(pk=job.pk).get()
    assert response["Location"] == reverse("imports:job", args=[new_job.pk])
    assert new_job.status == ImportJob.Status.REPORT_READY
    assert set(ImportRow.objects.filter(job=new_job).values_list("email", flat=True)) == {
        "bob@example.com",
        "carol@example.com",
        "dave@example.com",
        "erin@example.com",
    }


def test_start_import_page_refuses_a_failing_domain(admin_client, world, people):
    job = ready_job(world)
    Domain.objects.filter(pk=world.domain.pk).update(status=Domain.Status.REVALIDATION_REQUIRED)
    response = admin_client.post(reverse("imports:job_start", args=[job.pk]), {"mode": "all"}, follow=True)
    assert "needs re-validation" in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.REPORT_READY


def test_csv_has_a_header_every_row_and_the_reasons(admin_client, world, people):
    job = completed_job(world)
    response = admin_client.get(reverse("imports:job_csv", args=[job.pk]))
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"import-example.com-{job.pk}.csv" in response["Content-Disposition"]
    lines = read_csv(response)
    assert lines[0][:7] == [
        "E-mail address", "Name", "Accounts", "Accounts that move", "Signed up (UTC)", "E-mail verified", "Status"
    ]
    by_email = {line[0]: line for line in lines[1:]}
    assert len(by_email) == 5
    assert by_email["alice@example.com"][2] == "2"
    assert by_email["alice@example.com"][6] == "eligible"
    assert by_email["alice@example.com"][10] == "Imported"
    # Dates as spreadsheets read them (no ISO "T" or offset).
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", by_email["alice@example.com"][4])
    assert by_email["carol@example.com"][6:8] == ["not eligible", "E-mail address not verified"]
    assert by_email["carol@example.com"][5] == "no"
    assert by_email["carol@example.com"][10:12] == ["Not imported", "E-mail address not verified"]


def test_csv_of_a_report_says_not_eligible_instead_of_pending(admin_client, world, people):
    job = services.create_report_job(domain=world.domain, actor=world.admin, enqueue=False)
    services.build_report(job.pk)
    lines = read_csv(admin_client.get(reverse("imports:job_csv", args=[job.pk])))
    by_email = {line[0]: line for line in lines[1:]}
    assert by_email["carol@example.com"][10] == "not eligible"
    assert by_email["alice@example.com"][10] == ""  # not imported yet
    assert "Pending" not in {line[10] for line in lines[1:]}
    assert by_email["alice@example.com"][1] == people["eligible"].full_name
    assert by_email["alice@example.com"][3] == "Alice 1; Alice 2"  # the accounts that move with her


def test_csv_neutralises_formulas(admin_client, world):
    for local in ("=cmd|' /C calc'!A0", "+SUM(1)", "-2+3", "@SUM(1)"):
        UserFactory(email=f"{local}@example.com")
    UserFactory(email="山田@example.com")
    job = ready_job(world)
    lines = read_csv(admin_client.get(reverse("imports:job_csv", args=[job.pk])))
    emails = sorted(line[0] for line in lines[1:])
    assert all(email.startswith("'") for email in emails if not email.startswith("山田"))
    assert "'=cmd|' /C calc'!A0@example.com" in emails
    assert "'-2+3@example.com" in emails and "'@SUM(1)@example.com" in emails
    assert "山田@example.com" in emails
    assert reports.neutralise("-1") == "'-1" and reports.neutralise("plain") == "plain" and reports.neutralise(None) == ""
    assert reports.neutralise("\tx") == "'\tx" and reports.neutralise("\rx") == "'\rx"
    assert reports.neutralise("+1") == "'+1" and reports.neutralise("@a") == "'@a" and reports.neutralise("=1") == "'=1"


def test_csv_is_not_offered_before_the_report_is_ready(admin_client, world):
    job = services.create_report_job(domain=world.domain, actor=world.admin, enqueue=False)
    response = admin_client.get(reverse("imports:job_csv", args=[job.pk]))
    assert response.status_code == 302


def pages_and_actions(world, job):
    d, j = world.domain.pk, job.pk
    gets = [
        reverse("imports:domain", args=[d]),
        reverse("imports:report_create", args=[d]),
        reverse("imports:job", args=[j]),
        reverse("imports:job_progress", args=[j]),
        reverse("imports:job_csv", args=[j]),
        reverse("imports:job_notify", args=[j]),
        reverse("imports:job_start", args=[j]),
    ]
    posts = [
        (reverse("imports:request_access", args=[d]), {}),
        (reverse("imports:report_create", args=[d]), {}),
        (reverse("imports:job_notify", args=[j]), {}),
        (reverse("imports:job_select", args=[j]), {"page_rows": [1], "row": [1]}),
        (reverse("imports:job_start", args=[j]), {"mode": "all"}),
        (reverse("imports:job_check_new", args=[j]), {}),
    ]
    return gets, posts


def test_another_organizations_admin_gets_404_on_every_page_csv_and_action(client, world, people):
    job = ready_job(world)
    client.force_login(world.other_admin)
    gets, posts = pages_and_actions(world, job)
    for url in gets:
        assert client.get(url).status_code == 404, url
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    job.refresh_from_db()
    assert job.status == ImportJob.Status.REPORT_READY
    assert ImportJob.objects.count() == 1 and not AccessRequest.objects.exists()


def test_members_and_anonymous_users_cannot_use_the_pages(client, world, people):
    job = ready_job(world)
    gets, posts = pages_and_actions(world, job)
    for url in gets:
        assert client.get(url).status_code == 302  # to sign-in
    client.force_login(people["member"])
    for url in gets:
        assert client.get(url).status_code == 403
    for url, data in posts:
        assert client.post(url, data).status_code == 403


def test_every_post_needs_a_csrf_token(world, people):
    job = ready_job(world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.admin)
    _gets, posts = pages_and_actions(world, job)
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    job.refresh_from_db()
    assert job.status == ImportJob.Status.REPORT_READY and ImportJob.objects.count() == 1


def test_job_page_query_count_does_not_grow_with_rows_or_jobs(admin_client, world, people, django_assert_max_num_queries):
    for i in range(120):
        UserFactory(email=f"extra{i}@example.com")
    job = completed_job(world)
    for _ in range(5):
        ready_job(world)
    with django_assert_max_num_queries(16):
        response = admin_client.get(reverse("imports:job", args=[job.pk]))
    assert response.status_code == 200
    with django_assert_max_num_queries(16):
        admin_client.get(reverse("imports:job", args=[job.pk]) + "?only=not_imported&page=2")
    with django_assert_max_num_queries(10):
        admin_client.get(reverse("imports:domain", args=[world.domain.pk]))
    ready = ImportJob.objects.filter(status="report_ready").first()
    with django_assert_max_num_queries(16):
        admin_client.get(reverse("imports:job", args=[ready.pk]))


def test_selection_and_notify_are_refused_once_the_import_started(admin_client, world, people):
    job = completed_job(world)
    alice = ImportRow.objects.get(job=job, email="alice@example.com")
    response = admin_client.post(
        reverse("imports:job_select", args=[job.pk]), {"page_rows": [alice.pk], "row": []}, follow=True
    )
    assert b"can only change before the import starts" in response.content
    alice.refresh_from_db()
    assert alice.result == "imported"


def test_population_helper_outsiders_never_appear(world):
    people = population(world, domain_name="example.com")
    job = ready_job(world)
    emails = set(ImportRow.objects.filter(job=job).values_list("email", flat=True))
    assert people["outsider"].email not in emails and people["subdomain"].email not in emails


def test_the_users_page_shows_the_users_one_import_job_imported(admin_client, world):
    imported = MembershipFactory(organization=world.organization, user__email="imported@example.com", joined_via="imported")
    MembershipFactory(organization=world.organization, user__email="other@example.com")
    job = ImportJob.objects.create(organization=world.organization, domain=world.domain, domain_name="example.com")
    ImportRow.objects.create(job=job, user=imported.user, email=imported.user.email, result="imported")
    response = admin_client.get(reverse("imports:job_users", args=[job.pk]))
    assert [m.user.email for m in response.context["page_obj"]] == ["imported@example.com"]
    assert "Showing the users imported from example.com by the import of" in response.content.decode()
    other_job = ImportJob.objects.create(
        organization=world.other_organization, domain=world.other_domain, domain_name="globex.test"
    )
    assert admin_client.get(reverse("imports:job_users", args=[other_job.pk])).status_code == 404


@pytest.mark.postgres
def test_the_database_writes_the_same_csv_as_python(world, people):
    """COPY … TO STDOUT (PostgreSQL) and the Python writer (SQLite) give the same bytes, formulas
    neutralised, quotes and line breaks escaped, labels in the reader's language."""
    from django.db import connection
    from django.utils import translation

    from tests.support.missing import skip_or_fail

    if connection.vendor != "postgresql":
        skip_or_fail("the COPY path needs PostgreSQL (DATABASE_URL=postgres://...)", required_by="REQUIRE_SERVICES")
    for local, name in (("=cmd", "=HYPERLINK(1)"), ("tab", "\tname"), ("cr", "\rname"), ("quote", 'say "hi", ok'),
                        ("lines", "two\nlines"), ("山田", "山田 太郎"), ("blank", ""), ("-1", "-minus")):
        user = UserFactory(email=f"{local}@example.com", full_name=name)
        AccountFactory(owner=user, name=f"+{local}, workspace")
    job = completed_job(world)
    for language in ("en", "ja"):
        with translation.override(language):
            copied = b"".join(reports.csv_chunks(job))
            written = "".join(reports.csv_lines(job)).encode()
        assert copied.decode().splitlines() == written.decode().splitlines(), language
        assert copied == written, language
        assert copied.startswith(reports.BOM.encode())


@pytest.mark.postgres
def test_the_database_writes_the_same_times_whatever_the_servers_date_style(world, people):
    """The COPY writes timestamps as their own text in the ISO style it sets, not the session's."""
    from django.db import connection

    from tests.support.missing import skip_or_fail

    if connection.vendor != "postgresql":
        skip_or_fail("the COPY path needs PostgreSQL (DATABASE_URL=postgres://...)", required_by="REQUIRE_SERVICES")
    job = completed_job(world)
    written = "".join(reports.csv_lines(job)).encode()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL datestyle = 'SQL, DMY'")
    assert b"".join(reports.csv_chunks(job)) == written


def _report_table(page: str) -> str:
    return page.split('<table class="import-rows">', 1)[1].split("</table>", 1)[0]


def _row_with(table: str, text: str) -> str:
    row = next(part for part in table.split("<tr>")[1:] if text in part)
    return "<tr>" + row.split("</tr>", 1)[0] + "</tr>"


def test_report_rows_show_each_outcome_escaped_in_the_readers_language(admin_client, world, clock):
    """The rows are built in Python (imports/rows.py): every outcome's cell, the escaped address,
    and the words in the reader's language."""
    job = ImportJobFactory(
        domain=world.domain, status=ImportJob.Status.COMPLETED, rows_total=5, rows_eligible=4, rows_processed=5
    )
    made = {
        "imported": ImportRowFactory(job=job, eligible=True, email_verified=True, result="imported"),
        "not_selected": ImportRowFactory(job=job, eligible=True, result="not_imported", result_reason="not_selected"),
        "refused": ImportRowFactory(
            job=job, eligible=True, result="not_imported", result_reason="email_changed", new_since_parent=True
        ),
        "not_eligible": ImportRowFactory(job=job, eligible=False, reason="email_changed", result="not_imported"),
        "notified": ImportRowFactory(
            job=job, eligible=True, notified_at=clock.now(), signed_up_at=clock.now(), email="<b>&x@example.com"
        ),
    }
    table = _report_table(admin_client.get(reverse("imports:job", args=[job.pk])).content.decode())
    rows = {name: _row_with(table, row.email) for name, row in made.items() if name != "notified"}
    rows["notified"] = _row_with(table, "&lt;b&gt;&amp;x@example.com")
    assert "<b>&x" not in table
    assert '<span class="badge imported">Imported</span>' in rows["imported"] and "<td>yes</td>" in rows["imported"]
    assert '<span class="badge not_selected">not selected</span>' in rows["not_selected"]
    reason = "E-mail address is no longer at this domain"
    assert f'<span class="badge not_eligible">not eligible</span> {reason}' in rows["not_eligible"]
    assert rows["not_eligible"].endswith("<td>—</td></tr>")
    assert f'{made["refused"].email} <span class="badge">new</span></td>' in rows["refused"]
    assert f'<span class="badge not_imported">Not imported</span> {reason}' in rows["refused"]
    assert '<td class="nowrap">5 Jan 2026</td>' in rows["notified"] and "5 Jan 2026, 09:00 UTC" in rows["notified"]
    assert 'type="checkbox"' not in table  # a completed job offers no ticks
    japanese = _report_table(
        admin_client.get(reverse("imports:job", args=[job.pk]), headers={"accept-language": "ja"}).content.decode()
    )
    assert "not selected" not in japanese and "Imported" not in japanese and "<td>yes</td>" not in japanese


def test_report_rows_of_a_ready_job_offer_ticks_for_eligible_rows(admin_client, world):
    job = ImportJobFactory(domain=world.domain, status=ImportJob.Status.REPORT_READY, rows_total=3, rows_eligible=2)
    ticked = ImportRowFactory(job=job, eligible=True, selected=True, email="a&b@example.com")
    plain = ImportRowFactory(job=job, eligible=True)
    refused = ImportRowFactory(job=job, eligible=False, reason="email_changed")
    table = _report_table(admin_client.get(reverse("imports:job", args=[job.pk])).content.decode())
    assert (
        f'<input type="hidden" name="page_rows" value="{ticked.pk}"><input type="checkbox" name="row" '
        f'value="{ticked.pk}" id="row-{ticked.pk}" checked aria-label="Import a&amp;b@example.com">'
    ) in table
    assert f'id="row-{plain.pk}" aria-label="Import {plain.email}">' in table
    assert f'value="{refused.pk}"' not in table
    assert "Import result" not in admin_client.get(reverse("imports:job", args=[job.pk])).content.decode()
