from django.contrib import admin
from django.urls import include, path

from config import health
from console import views as console_views
from domains.urls import member_urlpatterns
from sso.views import SignInView

urlpatterns = [
    path("django-admin/", admin.site.urls),
    path("healthz", health.health, name="health"),
    path("metrics", health.metrics, name="metrics"),
    path("i18n/setlang/", console_views.set_language, name="set_language"),
    path("domains/", include("domains.urls")),
    path("users/", include((member_urlpatterns, "members"))),
    path("imports/", include("imports.urls")),
    path("api/v1/", include("api.urls")),
    path("api-tokens/", include("api.console_urls")),
    path("webhooks/", include("webhooks.urls")),
    path("security/", include("mfa.urls")),
    path("sso/", include("sso.urls")),
    # The sign-in page is the sso app's (home-realm discovery, SSO enforcement messages); it
    # answers at the console's own address, so reverse("console:login") still leads to it.
    path("sign-in/", SignInView.as_view(), name="sign_in"),
    path("", include("console.urls")),
]
