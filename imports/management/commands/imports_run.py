"""Build a report and run an import in-process, with the same services the tasks call.

    manage.py imports_run --organization "Acme" --domain example.com [--yes] [--selected a@x b@x]
    manage.py imports_run --resume JOB_ID      # replay a failed or interrupted import from its checkpoint
"""

from django.core.management.base import BaseCommand, CommandError

from console.errors import ConsoleError
from domains.models import Domain
from imports import selectors, services
from imports.management.commands.imports_feature import find_organization
from imports.models import ImportJob, ImportRow


def text_bar(done: int, total: int, width: int = 40) -> str:
    filled = int(width * done / total) if total else width
    percent = int(100 * done / total) if total else 100
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {percent:3d}%"


class Command(BaseCommand):
    help = "Build the report for a verified domain and import its eligible users (synchronously)."

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="organization id or exact name")
        parser.add_argument("--domain", help="a verified domain of the organization")
        parser.add_argument("--resume", type=int, metavar="JOB_ID", help="resume a failed or interrupted import")
        parser.add_argument("--yes", action="store_true", help="import without asking for confirmation")
        parser.add_argument("--selected", nargs="+", metavar="EMAIL", help="import only these users")

    def handle(self, *args, organization, domain, yes, selected, resume, **options):
        if resume is not None:
            try:
                job = services.replay_import(job_id=resume)
            except ConsoleError as error:
                raise CommandError(str(error)) from error
            self.stdout.write(f"Resuming import job {job.pk} after {job.rows_processed} of {job.rows_total} rows…")
            self._run(job)
            return
        if not organization or not domain:
            raise CommandError("give --organization and --domain (or --resume JOB_ID)")
        org = find_organization(organization)
        domain_obj = Domain.objects.active().filter(organization=org, name=domain.strip().lower().rstrip(".")).first()
        if domain_obj is None:
            raise CommandError(f"{org.name} has no domain {domain!r}.")
        try:
            job = services.create_report_job(domain=domain_obj, actor=None, enqueue=False)
        except ConsoleError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Report job {job.pk}: building the report for {domain_obj.name}…")
        services.build_report(job.pk)
        job.refresh_from_db()
        self.stdout.write(f"Report ready: {job.rows_total} users at the domain not in {org.name}, {job.rows_eligible} eligible.")
        for item in selectors.report_reason_summary(job):
            self.stdout.write(f"  not eligible — {item['label']}: {item['count']}")

        selected_ids = None
        if selected:
            wanted = {e.strip().lower() for e in selected}
            rows = ImportRow.objects.filter(job=job, eligible=True).values_list("pk", "email")
            selected_ids = [pk for pk, email in rows if email.lower() in wanted]
            missing = wanted - {email.lower() for _pk, email in rows if _pk in selected_ids}
            for email in sorted(missing):
                self.stdout.write(self.style.WARNING(f"  {email}: not an eligible user of this report; skipped"))
        if not job.rows_eligible:
            self.stdout.write("Nobody to import.")
            return
        count = len(selected_ids) if selected_ids is not None else job.rows_eligible
        if not yes:
            answer = input(f"Import {count} users into {org.name}? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                self.stdout.write("Not imported. The report stays available in the console.")
                return
        try:
            job = services.start_import(job=job, actor=None, selected_row_ids=selected_ids, enqueue=False)
        except ConsoleError as error:
            raise CommandError(str(error)) from error
        self._run(job)

    def _run(self, job: ImportJob) -> None:
        """Run the import in-process with a progress bar, then print the summary."""

        def progress(current: ImportJob):
            self.stderr.write("\r" + text_bar(current.rows_processed, current.rows_total), ending="")
            self.stderr.flush()

        services.run_import(job.pk, progress=progress)
        self.stderr.write("")
        job.refresh_from_db()
        self.stdout.write(self.style.SUCCESS(f"Import job {job.pk}: {job.get_status_display()}."))
        self.stdout.write(f"  imported: {job.rows_imported}")
        self.stdout.write(f"  not imported: {job.rows_not_imported}")
        for item in selectors.not_imported_summary(job):
            self.stdout.write(f"    {item['label']}: {item['count']}")
        left_out = selectors.left_out_of_import(job)
        if left_out["not_selected"]:
            self.stdout.write(f"    not selected: {left_out['not_selected']}")
        if left_out["not_eligible"]:
            self.stdout.write(f"    not eligible: {left_out['not_eligible']}")
        self.stdout.write(f"  rows in report: {job.rows_total}")
