from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("django-admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("domains/", include("domains.urls")),
    path("imports/", include("imports.urls")),
    path("", include("console.urls")),
]
