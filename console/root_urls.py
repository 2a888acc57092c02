from django.contrib import admin
from django.urls import include, path

from console import health, views

urlpatterns = [
    path("django-admin/", admin.site.urls),
    path("healthz", health.health, name="health"),
    path("metrics", health.metrics, name="metrics"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("domains/", include("domains.urls")),
    path("imports/", include("imports.urls")),
    path("", include("console.urls")),
]
