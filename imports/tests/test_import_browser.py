"""Headless Chromium through the source page's steps, from the domain details page.

Report, notify and "check for new users" run eagerly in-process; the import itself is queued
(no worker) and the test plays the worker chunk by chunk, so the progress bar is seen
polling and then the summary appears — deterministic, with the same service the task calls.
"""

import codecs

import pytest
from celery import current_app as app
from django.core import mail
from django.urls import reverse

from console.models import Membership
from imports import services
from imports.models import ImportJob
from imports.tests.conftest import make_world
from imports.tests.factories import AccountFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, user, live_server):
    """A signed-in session cookie (the sign-in form itself is the console's, tested there)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])


def test_request_access_report_csv_notify_import_summary_and_check_again(page, live_server, settings):
    settings.IMPORT_CHUNK_SIZE = 2
    world = make_world(feature=False)
    for name in ("ann", "ben", "cat", "dan", "eve"):
        AccountFactory(owner=UserFactory(email=f"{name}@example.com"))
    UserFactory(email="=HYPERLINK(1)@example.com", email_verified=False)
    previous_eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        sign_in(page, world.admin, live_server)
        detail = reverse("domains:detail", args=[world.domain.pk])
        page.goto(detail)
        page.get_by_role("button", name="Request access").click()
        page.get_by_text("Access was requested").wait_for()

        services.grant_feature(organization=world.organization)  # staff grant it
        page.goto(detail)
        page.get_by_role("link", name="Import existing users of this domain and their accounts to this Organization").click()
        page.get_by_text("can never appear").wait_for()

        page.get_by_role("link", name="Generate report").click()  # opens the <dialog>
        dialog = page.locator("#report-dialog")
        dialog.get_by_role("button", name="Generate report").click()
        page.get_by_role("heading", name="Report", exact=True).wait_for()
        job = ImportJob.objects.get()
        assert job.status == ImportJob.Status.REPORT_READY and job.rows_total == 6 and job.rows_eligible == 5
        assert page.get_by_text("E-mail address not verified").count() >= 1

        with page.expect_download() as download_info:
            page.locator(".report-summary").get_by_role("link", name="Download CSV").click()
        content = open(download_info.value.path(), "rb").read()
        assert content.startswith(codecs.BOM_UTF8)
        text = content.decode("utf-8-sig")
        assert "ann@example.com" in text and "'=HYPERLINK(1)@example.com" in text

        page.get_by_role("link", name="E-mail the notice to the eligible users…").click()
        page.get_by_text("The notice will be e-mailed to 5 eligible users").wait_for()  # a preview first
        assert "Your account will be managed by Acme" in page.locator(".notice-preview").inner_text()
        page.get_by_role("button", name="E-mail the notice to 5 users").click()
        page.get_by_text("5 users notified").wait_for()
        granted = [m for m in mail.outbox if "Bulk User Import is enabled" in m.subject]
        assert [m.to[0] for m in granted] == [world.admin.email]  # the admin who asked is told
        notices = [m for m in mail.outbox if m not in granted]
        assert sorted(m.to[0] for m in notices) == [f"{n}@example.com" for n in ("ann", "ben", "cat", "dan", "eve")]

        # Start import: the dialog encourages notifying first; the import is queued, not run.
        app.conf.task_always_eager = False
        page.locator(".start").get_by_role("link", name="Import all 5 eligible users").click()
        start_dialog = page.locator("#start-all-dialog")
        start_dialog.get_by_text("We recommend notifying users").wait_for()
        start_dialog.get_by_role("button", name="Import all 5 eligible users").click()
        page.locator("progress.import-progress").wait_for()
        assert services.run_import_chunk(job.pk)  # the worker's first chunk
        page.get_by_text("2 of 5 eligible users processed").wait_for()  # the poll replaced the fragment
        services.run_import(job.pk)
        page.get_by_text("5 users were imported.").wait_for()  # reloaded when done
        page.get_by_text("1 user in the report was not eligible.").wait_for()
        users_link = page.get_by_role("link", name="See them in Users")
        assert users_link.get_attribute("href") == reverse("imports:job_users", args=[job.pk])
        assert Membership.objects.filter(organization=world.organization, joined_via="imported").count() == 5

        app.conf.task_always_eager = True
        UserFactory(email="late@example.com")
        page.get_by_role("button", name="Check for new users").click()
        page.get_by_text("Checking for new users since").wait_for()
        new_job = ImportJob.objects.exclude(pk=job.pk).get()
        assert new_job.status == ImportJob.Status.REPORT_READY and new_job.rows_total == 2
        assert page.locator("table.import-rows").get_by_text("late@example.com").count() == 1
    finally:
        app.conf.task_always_eager = previous_eager
