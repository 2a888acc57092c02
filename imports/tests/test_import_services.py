"""The report and import rules, through the services the tasks and commands call."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from console.errors import ConsoleError
from console.models import Account, AuditEvent, Membership
from domains.models import Domain
from imports import services
from imports.models import AccessRequest, ImportJob, ImportRow, Reason
from imports.services import importing
from imports.tests.conftest import make_world
from imports.tests.factories import AccountFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def ready_report(world, **kwargs):
    job = services.create_report_job(domain=world.domain, actor=world.admin, enqueue=False, **kwargs)
    assert services.build_report(job.pk) is True
    job.refresh_from_db()
    return job


def rows_by_email(job):
    return {row.email: row for row in ImportRow.objects.filter(job=job)}


def test_report_lists_every_user_at_the_domain_not_in_the_organization_with_reasons(world, people):
    job = ready_report(world)
    rows = rows_by_email(job)
    assert set(rows) == {
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
        "dave@example.com",
        "erin@example.com",
    }  # not the member, not grace@elsewhere.test, not heidi@sub.example.com, not the owner
    assert job.status == ImportJob.Status.REPORT_READY
    assert (job.rows_total, job.rows_eligible) == (5, 2)
    assert rows["alice@example.com"].eligible and rows["alice@example.com"].accounts_count == 2
    assert rows["bob@example.com"].accounts_count == 1
    assert rows["carol@example.com"].reason == Reason.EMAIL_NOT_VERIFIED
    assert not rows["carol@example.com"].email_verified
    assert rows["dave@example.com"].reason == Reason.DEACTIVATED
    assert rows["erin@example.com"].reason == Reason.MANAGED_ELSEWHERE
    assert rows["erin@example.com"].get_reason_display() == "Managed by another organization"
    assert rows["alice@example.com"].signed_up_at == people["eligible"].date_joined
    assert AuditEvent.objects.filter(action="imports.report_ready", target_id=str(job.pk)).exists()


def test_report_uses_the_indexed_email_domain_column_not_a_pattern_scan(world, people):
    job = services.create_report_job(domain=world.domain, actor=world.admin, enqueue=False)
    with CaptureQueriesContext(connection) as queries:
        services.build_report(job.pk)
    user_queries = [q["sql"] for q in queries.captured_queries if 'FROM "console_user"' in q["sql"]]
    assert user_queries and all('"console_user"."email_domain" =' in sql for sql in user_queries)
    assert not any("LIKE" in q["sql"].upper() for q in queries.captured_queries)


def test_build_report_twice_is_harmless(world, people):
    job = ready_report(world)
    assert services.build_report(job.pk) is False
    assert ImportRow.objects.filter(job=job).count() == 5


def test_report_refused_without_the_feature_or_for_an_unverified_domain(db):
    world = make_world(feature=False)
    with pytest.raises(ConsoleError):
        services.create_report_job(domain=world.domain, actor=world.admin, enqueue=False)
    world.organization.features = ["bulk_user_import"]
    world.organization.save()
    for status in (Domain.Status.PENDING, Domain.Status.REVALIDATION_REQUIRED):
        world.domain.status = status
        world.domain.save()
        with pytest.raises(ConsoleError):
            services.create_report_job(domain=world.domain, actor=world.admin, enqueue=False)


def test_import_all_eligible_users_with_their_accounts(world, people):
    job = ready_report(world)
    foreign_account = AccountFactory(owner=people["eligible"], organization=world.other_organization)
    services.start_import(job=job, actor=world.admin, enqueue=False)
    assert services.run_import(job.pk) is True
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETED
    assert (job.rows_imported, job.rows_not_imported, job.rows_total) == (2, 3, 5)
    assert job.rows_imported + job.rows_not_imported == job.rows_total == job.rows_processed
    for name in ("eligible", "eligible2"):
        membership = Membership.objects.get(user=people[name])
        assert membership.organization == world.organization
        assert membership.joined_via == Membership.JoinedVia.IMPORTED
        assert membership.via_domain == "example.com"
        assert membership.role == Membership.Role.MEMBER
    assert set(Account.objects.filter(organization=world.organization).values_list("name", flat=True)) == {
        "Alice 1",
        "Alice 2",
        "Bob 1",
    }
    foreign_account.refresh_from_db()
    assert foreign_account.organization == world.other_organization  # never taken from another organization
    assert Account.objects.get(name="Carol 1").organization is None  # not-imported users keep theirs
    rows = rows_by_email(job)
    assert rows["carol@example.com"].result == ImportRow.Result.NOT_IMPORTED
    assert rows["carol@example.com"].result_reason == Reason.EMAIL_NOT_VERIFIED
    assert rows["erin@example.com"].result_reason == Reason.MANAGED_ELSEWHERE
    assert Membership.objects.get(user=people["managed_elsewhere"]).organization == world.other_organization
    assert AuditEvent.objects.filter(action="imports.import_completed", target_id=str(job.pk)).exists()


def test_selective_import_imports_only_the_selected_users(world, people):
    job = ready_report(world)
    alice = ImportRow.objects.get(job=job, email="alice@example.com")
    carol = ImportRow.objects.get(job=job, email="carol@example.com")
    services.start_import(job=job, actor=world.admin, selected_row_ids=[alice.pk, carol.pk], enqueue=False)
    services.run_import(job.pk)
    job.refresh_from_db()
    assert job.selected_only and job.rows_selected == 1  # carol is not eligible: not selectable
    assert (job.rows_imported, job.rows_not_imported) == (1, 4)
    assert rows_by_email(job)["bob@example.com"].result_reason == Reason.NOT_SELECTED
    assert Membership.objects.filter(user=people["eligible"], organization=world.organization).exists()
    assert not Membership.objects.filter(user=people["eligible2"]).exists()


def test_saved_selection_across_pages_is_used(world, people):
    job = ready_report(world)
    bob = ImportRow.objects.get(job=job, email="bob@example.com")
    alice = ImportRow.objects.get(job=job, email="alice@example.com")
    assert services.save_selection(job=job, page_row_ids=[alice.pk], selected_row_ids=[]) == 0
    assert services.save_selection(job=job, page_row_ids=[bob.pk], selected_row_ids=[bob.pk, alice.pk]) == 1
    services.start_import(job=job, actor=world.admin, selected_only=True, enqueue=False)
    services.run_import(job.pk)
    assert list(Membership.objects.filter(joined_via="imported").values_list("user__email", flat=True)) == [
        "bob@example.com"
    ]


def test_selected_only_without_a_selection_is_refused(world, people):
    job = ready_report(world)
    with pytest.raises(ConsoleError):
        services.start_import(job=job, actor=world.admin, selected_only=True, enqueue=False)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.REPORT_READY


def test_each_row_is_checked_again_at_import_time(world, people):
    job = ready_report(world)
    # After the report: alice changes her e-mail, bob joins another organization,
    # erin (managed elsewhere at report time) is still managed elsewhere, and a brand-new
    # user at the domain is not in this report at all.
    alice = people["eligible"]
    alice.email = "alice@elsewhere.test"
    alice.save()
    MembershipFactory(user=people["eligible2"], organization=world.other_organization)
    UserFactory(email="newcomer@example.com")
    services.start_import(job=job, actor=world.admin, enqueue=False)
    services.run_import(job.pk)
    job.refresh_from_db()
    rows = rows_by_email(job)
    assert rows["alice@example.com"].result == ImportRow.Result.NOT_IMPORTED
    assert rows["alice@example.com"].result_reason == Reason.EMAIL_CHANGED
    assert rows["alice@example.com"].get_result_reason_display() == "E-mail address is no longer at this domain"
    assert rows["bob@example.com"].result_reason == Reason.MANAGED_ELSEWHERE
    assert (job.rows_imported, job.rows_not_imported) == (0, 5)
    assert not Membership.objects.filter(user=alice).exists()
    assert Account.objects.filter(owner=alice, organization__isnull=True).count() == 2


def test_deactivated_or_unverified_after_the_report_is_not_imported(world, people):
    job = ready_report(world)
    people["eligible"].is_active = False
    people["eligible"].save()
    people["eligible2"].email_verified = False
    people["eligible2"].save()
    services.start_import(job=job, actor=world.admin, enqueue=False)
    services.run_import(job.pk)
    rows = rows_by_email(job)
    assert rows["alice@example.com"].result_reason == Reason.DEACTIVATED
    assert rows["bob@example.com"].result_reason == Reason.EMAIL_NOT_VERIFIED


def test_user_who_joined_this_organization_meanwhile_is_already_member(world, people):
    job = ready_report(world)
    MembershipFactory(user=people["eligible"], organization=world.organization, joined_via="auto_added")
    services.start_import(job=job, actor=world.admin, enqueue=False)
    services.run_import(job.pk)
    assert rows_by_email(job)["alice@example.com"].result_reason == Reason.ALREADY_MEMBER
    assert Membership.objects.get(user=people["eligible"]).joined_via == "auto_added"


def test_deleted_user_is_recorded_not_lost(world, people):
    job = ready_report(world)
    Account.objects.filter(owner=people["eligible2"]).delete()
    people["eligible2"].delete()
    services.start_import(job=job, actor=world.admin, enqueue=False)
    services.run_import(job.pk)
    job.refresh_from_db()
    assert rows_by_email(job)["bob@example.com"].result_reason == Reason.USER_DELETED
    assert job.rows_imported + job.rows_not_imported == job.rows_total == 5


def test_import_refused_for_a_failing_domain(world, people):
    job = ready_report(world)
    Domain.objects.filter(pk=world.domain.pk).update(status=Domain.Status.REVALIDATION_REQUIRED)
    with pytest.raises(ConsoleError) as error:
        services.start_import(job=job, actor=world.admin, enqueue=False)
    assert error.value.code == "domain_revalidation_required"
    job.refresh_from_db()
    assert job.status == ImportJob.Status.REPORT_READY
    assert not Membership.objects.filter(joined_via="imported").exists()


def test_domain_failing_during_the_import_stops_further_imports_with_the_reason(world, people, settings):
    settings.IMPORT_CHUNK_SIZE = 1
    job = ready_report(world)
    services.start_import(job=job, actor=world.admin, enqueue=False)
    assert services.run_import_chunk(job.pk) is True  # alice (first row) imported
    Domain.objects.filter(pk=world.domain.pk).update(status=Domain.Status.REVALIDATION_REQUIRED)
    services.run_import(job.pk)
    job.refresh_from_db()
    rows = rows_by_email(job)
    assert rows["alice@example.com"].result == ImportRow.Result.IMPORTED
    assert rows["bob@example.com"].result_reason == Reason.DOMAIN_NOT_VERIFIED
    assert (job.rows_imported, job.rows_not_imported) == (1, 4)


def test_a_chunk_that_crashes_rolls_back_entirely_and_the_rerun_imports_everyone_once(
    world, people, settings, monkeypatch
):
    """A crash inside a chunk, after the memberships were inserted and before the row results
    were written, leaves no membership without its row result."""
    settings.IMPORT_CHUNK_SIZE = 2
    job = ready_report(world)
    services.start_import(job=job, actor=world.admin, enqueue=False)

    class Crash(Exception):
        pass

    def worker_dies(*args, **kwargs):
        assert Membership.objects.filter(joined_via="imported").exists()  # inserted, not yet committed
        raise Crash("worker died")

    with monkeypatch.context() as patched:
        patched.setattr(importing, "_write_row_results", worker_dies)
        with pytest.raises(Crash):
            services.run_import_chunk(job.pk)
    assert not Membership.objects.filter(joined_via="imported").exists()  # rolled back with the rows
    assert ImportRow.objects.filter(job=job, result="pending").count() == 5
    assert ImportJob.objects.get(pk=job.pk).rows_processed == 0
    services.run_import(job.pk)
    services.run_import(job.pk)  # a duplicate message: nothing to do
    job.refresh_from_db()
    assert Membership.objects.filter(joined_via="imported").count() == 2
    assert (job.rows_imported, job.rows_not_imported, job.rows_processed) == (2, 3, 5)


def test_two_jobs_for_the_same_domain_never_import_a_user_twice(world, people):
    first = ready_report(world)
    second = ready_report(world)
    for job in (first, second):
        services.start_import(job=job, actor=world.admin, enqueue=False)
    services.run_import(first.pk)
    services.run_import(second.pk)
    second.refresh_from_db()
    assert second.rows_imported == 0
    assert rows_by_email(second)["alice@example.com"].result_reason == Reason.ALREADY_MEMBER
    assert Membership.objects.filter(joined_via="imported").count() == 2


def test_start_import_twice_is_refused(world, people):
    job = ready_report(world)
    services.start_import(job=job, actor=world.admin, enqueue=False)
    with pytest.raises(ConsoleError):
        services.start_import(job=job, actor=world.admin, enqueue=False)


def test_start_import_enqueues_on_commit(world, people, django_capture_on_commit_callbacks):
    job = ready_report(world)
    with django_capture_on_commit_callbacks() as callbacks:
        services.start_import(job=job, actor=world.admin)
    assert len(callbacks) == 1


def test_check_for_new_users_reports_newcomers_and_those_not_imported_before(world, people, clock):
    job = ready_report(world)
    services.start_import(job=job, actor=world.admin, enqueue=False)
    services.run_import(job.pk)
    job.refresh_from_db()
    clock.advance(timedelta(days=3))
    UserFactory(email="newcomer@example.com")
    people["unverified"].email_verified = True
    people["unverified"].save()
    new_job = services.check_for_new_users(job=job, actor=world.admin)
    services.build_report(new_job.pk)
    new_job.refresh_from_db()
    rows = rows_by_email(new_job)
    assert new_job.parent == job and new_job.kind == ImportJob.Kind.CHECK_NEW
    assert set(rows) == {"newcomer@example.com", "carol@example.com", "dave@example.com", "erin@example.com"}
    assert rows["newcomer@example.com"].new_since_parent
    assert not rows["carol@example.com"].new_since_parent
    assert rows["carol@example.com"].eligible


def test_check_for_new_users_needs_a_completed_import(world, people):
    job = ready_report(world)
    with pytest.raises(ConsoleError):
        services.check_for_new_users(job=job, actor=world.admin)


def test_resume_stalled_requeues_only_jobs_whose_heartbeat_stopped(world, people, clock, settings):
    settings.IMPORT_STALL_SECONDS = 300
    job = ready_report(world)
    services.start_import(job=job, actor=world.admin, enqueue=False)
    assert services.resume_stalled(enqueue=False) == []
    clock.advance(timedelta(seconds=301))
    assert services.resume_stalled(enqueue=False) == [job.pk]
    assert services.resume_stalled(enqueue=False) == []  # claimed: the next sweep leaves it alone
    services.run_import(job.pk)
    clock.advance(timedelta(hours=1))
    assert services.resume_stalled(enqueue=False) == []  # completed jobs are not running


def test_resume_stalled_restarts_a_report_that_crashed(world, people, clock, settings, django_capture_on_commit_callbacks):
    settings.IMPORT_STALL_SECONDS = 60
    job = services.create_report_job(domain=world.domain, actor=world.admin, enqueue=False)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.REPORT_RUNNING)  # crashed mid-report
    clock.advance(timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.resume_stalled() == [job.pk]
    assert len(callbacks) == 1
    assert services.build_report(job.pk) is True
    job.refresh_from_db()
    assert job.status == ImportJob.Status.REPORT_READY and job.rows_total == 5


def test_request_grant_revoke_access_are_recorded_and_audited(db):
    world = make_world(feature=False)
    request = services.request_access(organization=world.organization, actor=world.admin, domain=world.domain)
    assert services.request_access(organization=world.organization, actor=world.admin) == request  # one open request
    assert AuditEvent.objects.filter(action="imports.access_requested").count() == 1
    assert services.grant_feature(organization=world.organization) is True
    assert services.grant_feature(organization=world.organization) is False
    world.organization.refresh_from_db()
    assert world.organization.has_feature("bulk_user_import")
    request.refresh_from_db()
    assert request.status == AccessRequest.Status.GRANTED
    with pytest.raises(ConsoleError):
        services.request_access(organization=world.organization, actor=world.admin)
    assert services.revoke_feature(organization=world.organization) is True
    world.organization.refresh_from_db()
    assert not world.organization.has_feature("bulk_user_import")
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", "actor_kind"))
    assert ("imports.feature_granted", "operator") in actions and ("imports.feature_revoked", "operator") in actions


def test_notify_emails_eligible_users_in_their_language_once(
    world, people, mailoutbox, django_capture_on_commit_callbacks
):
    people["eligible2"].language = "ja"
    people["eligible2"].save()
    job = ready_report(world)
    assert services.notify_eligible(job=job, actor=world.admin, enqueue=False) == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_notices(job.pk) == 2
    by_recipient = {m.to[0]: m for m in mailoutbox}
    assert set(by_recipient) == {"alice@example.com", "bob@example.com"}
    assert "Acme" in by_recipient["alice@example.com"].subject
    assert "管理" in by_recipient["bob@example.com"].subject
    rows = rows_by_email(job)
    assert rows["alice@example.com"].notified_at is not None
    assert rows["carol@example.com"].notified_at is None
    assert services.send_notices(job.pk) == 0  # nobody twice
    with pytest.raises(ConsoleError):
        services.notify_eligible(job=job, actor=world.admin, enqueue=False)
    job.refresh_from_db()
    assert job.rows_notified == 2 and job.notified_at is not None


def test_check_for_new_users_keeps_who_was_notified(world, people, clock):
    job = ready_report(world)
    services.send_notices(job.pk)  # alice and bob (the eligible ones) are told
    people["unverified"].email_verified = True  # carol becomes eligible only later
    people["unverified"].save()
    rows = rows_by_email(job)
    rows["bob@example.com"].selected = True
    rows["bob@example.com"].save()
    services.start_import(job=job, actor=world.admin, selected_only=True, enqueue=False)
    services.run_import(job.pk)  # bob imported; alice notified but not selected
    job.refresh_from_db()
    clock.advance(timedelta(days=1))
    new_job = services.check_for_new_users(job=job, actor=world.admin)
    services.build_report(new_job.pk)
    new_job.refresh_from_db()
    rows = rows_by_email(new_job)
    assert rows["alice@example.com"].notified_at is not None  # not e-mailed a second time
    assert rows["carol@example.com"].notified_at is None
    assert new_job.rows_notified == 1
    assert services.notify_eligible(job=new_job, actor=world.admin, enqueue=False) == 1  # only carol


def test_granting_access_emails_the_admin_who_asked(db, mailoutbox, django_capture_on_commit_callbacks):
    world = make_world(feature=False)
    world.admin.language = "ja"
    world.admin.save()
    services.request_access(organization=world.organization, actor=world.admin, domain=world.domain)
    with django_capture_on_commit_callbacks(execute=True):
        services.grant_feature(organization=world.organization)
    assert [m.to for m in mailoutbox] == [[world.admin.email]]
    assert "一括ユーザーインポート" in mailoutbox[0].subject  # in the requester's language
    assert f"/imports/domain/{world.domain.pk}/" in mailoutbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        services.revoke_feature(organization=world.organization)
        services.grant_feature(organization=world.organization)  # no open request: nobody to tell
    assert len(mailoutbox) == 1


def test_a_row_whose_user_is_gone_by_id_alone_is_a_deleted_user_everywhere(
    world, people, mailoutbox, django_capture_on_commit_callbacks
):
    """No database constraint ties a row to its user (Django nulls it when the user is deleted
    through it): a row left with the id of a user that no longer exists is told nothing, not
    imported, and still written to the CSV."""
    from imports import reports

    job = ready_report(world)
    gone = ImportRow.objects.filter(job=job, email="bob@example.com")
    gone.update(user_id=people["eligible2"].pk + 10_000)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_notices(job.pk) == 1
    assert [m.to[0] for m in mailoutbox] == ["alice@example.com"]
    services.start_import(job=job, actor=world.admin, enqueue=False)
    services.run_import(job.pk)
    assert rows_by_email(job)["bob@example.com"].result_reason == Reason.USER_DELETED
    assert any(line.startswith("bob@example.com,") for line in "".join(reports.csv_lines(job)).splitlines())
    assert b"\nbob@example.com," in b"".join(reports.csv_chunks(job))


def test_deleting_a_user_through_django_still_clears_the_rows_reference(world, people):
    job = ready_report(world)
    Account.objects.filter(owner=people["eligible2"]).delete()
    people["eligible2"].delete()
    assert rows_by_email(job)["bob@example.com"].user_id is None
