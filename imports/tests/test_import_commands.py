"""Operator commands: build + import from the command line, and replay a failed import."""

import io

import pytest
from django.core.management import CommandError, call_command

from console.models import Membership
from imports import services
from imports.models import ImportJob, ImportRow
from imports.tests.factories import UserFactory


def test_imports_run_builds_the_report_and_imports_with_a_summary(world, people, settings):
    settings.IMPORT_CHUNK_SIZE = 2
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "imports_run", organization=world.organization.name, domain="example.com", yes=True, stdout=out, stderr=err
    )
    job = ImportJob.objects.get(domain=world.domain)
    assert job.status == ImportJob.Status.COMPLETED
    assert job.rows_imported + job.rows_not_imported == job.rows_total
    assert f"imported: {job.rows_imported}" in out.getvalue()
    assert "100%" in err.getvalue()  # the progress bar reached the end
    assert Membership.objects.filter(organization=world.organization, joined_via="imported").count() == job.rows_imported


def test_resume_replays_a_failed_import_from_its_checkpoint(world, people, settings):
    settings.IMPORT_CHUNK_SIZE = 1
    for i in range(4):
        UserFactory(email=f"extra{i}@example.com")
    job = services.create_report_job(domain=world.domain, actor=world.admin, enqueue=False)
    services.build_report(job.pk)
    job = services.start_import(job=ImportJob.objects.get(pk=job.pk), actor=world.admin, enqueue=False)
    assert services.run_import_chunk(job.pk)  # one row done, then the worker "fails"
    services.fail_job(job.pk, "worker lost")
    done_before = ImportRow.objects.filter(job=job).exclude(result="pending").count()
    assert done_before == 1

    out = io.StringIO()
    call_command("imports_run", resume=job.pk, stdout=out, stderr=io.StringIO())
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETED
    assert "Resuming import job" in out.getvalue()
    assert job.rows_imported + job.rows_not_imported == job.rows_total
    imported_users = ImportRow.objects.filter(job=job, result="imported").values_list("user_id", flat=True)
    assert Membership.objects.filter(user_id__in=imported_users, organization=world.organization).count() == len(
        imported_users
    )


def test_resume_refuses_a_report_whose_import_was_never_started(world, people):
    job = services.create_report_job(domain=world.domain, actor=world.admin, enqueue=False)
    services.build_report(job.pk)
    services.fail_job(job.pk, "something else failed")
    with pytest.raises(CommandError, match="Only a failed or interrupted import can be resumed"):
        call_command("imports_run", resume=job.pk, stdout=io.StringIO())
    assert not Membership.objects.filter(organization=world.organization, joined_via="imported").exists()


def test_imports_run_needs_organization_and_domain_or_resume(db):
    with pytest.raises(CommandError, match="--resume"):
        call_command("imports_run", stdout=io.StringIO())
