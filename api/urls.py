"""/api/v1: the public REST API, its OpenAPI schema and its docs (served from here, no CDN)."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from api.docs import DocsView
from api.problems import not_found
from api.views import audit, domains, imports, me, users

app_name = "api"

urlpatterns = [
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", DocsView.as_view(url_name="api:schema"), name="docs"),
    path("me", me.MeView.as_view(), name="me"),
    path("domains", domains.DomainsView.as_view(), name="domains"),
    path("domains/<int:pk>", domains.DomainView.as_view(), name="domain"),
    path("domains/<int:pk>/verify", domains.DomainVerifyView.as_view(), name="domain_verify"),
    path("domains/<int:pk>/html-file", domains.DomainHtmlFileView.as_view(), name="domain_html_file"),
    path("users", users.UsersView.as_view(), name="users"),
    path("users/<int:pk>", users.UserView.as_view(), name="user"),
    path("import-jobs", imports.ImportJobsView.as_view(), name="import_jobs"),
    path("import-jobs/<int:pk>", imports.ImportJobView.as_view(), name="import_job"),
    path("import-jobs/<int:pk>/rows", imports.ImportRowsView.as_view(), name="import_job_rows"),
    path("import-jobs/<int:pk>/report.csv", imports.ImportCsvView.as_view(), name="import_job_csv"),
    path("import-jobs/<int:pk>/notify", imports.ImportNotifyView.as_view(), name="import_job_notify"),
    path("import-jobs/<int:pk>/start", imports.ImportStartView.as_view(), name="import_job_start"),
    path("import-jobs/<int:pk>/check-new-users", imports.ImportCheckNewView.as_view(), name="import_job_check_new"),
    path("audit-events", audit.AuditEventsView.as_view(), name="audit_events"),
    path("audit-events/export", audit.AuditExportView.as_view(), name="audit_export"),
    path("audit-events/<int:pk>", audit.AuditEventView.as_view(), name="audit_event"),
    # Anything else under /api/v1 answers as the API does: a problem, not an HTML page.
    re_path(r"^[\s\S]*$", not_found, name="not_found"),
]
