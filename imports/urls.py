from django.urls import path

from imports import views

app_name = "imports"

urlpatterns = [
    path("domain/<int:domain_id>/", views.domain_imports, name="domain"),
    path("domain/<int:domain_id>/request-access/", views.request_access, name="request_access"),
    path("domain/<int:domain_id>/report/", views.report_create, name="report_create"),
    path("job/<int:job_id>/", views.job_detail, name="job"),
    path("job/<int:job_id>/users/", views.job_users, name="job_users"),
    path("job/<int:job_id>/progress/", views.job_progress, name="job_progress"),
    path("job/<int:job_id>/report.csv", views.job_csv, name="job_csv"),
    path("job/<int:job_id>/notify/", views.job_notify, name="job_notify"),
    path("job/<int:job_id>/select/", views.job_select, name="job_select"),
    path("job/<int:job_id>/start/", views.job_start, name="job_start"),
    path("job/<int:job_id>/check-new/", views.job_check_new, name="job_check_new"),
]
