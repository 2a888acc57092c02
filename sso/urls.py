from django.urls import path

from sso import views

app_name = "sso"

urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("start/", views.start, name="start"),
    path("oidc/callback/", views.oidc_callback, name="oidc_callback"),
    path("saml/", views.saml_settings, name="saml_settings"),
    path("saml/<slug:key>/metadata/", views.saml_metadata, name="saml_metadata"),
    path("saml/<slug:key>/acs/", views.saml_acs, name="saml_acs"),
    path("domains/<int:pk>/", views.domain_requirement, name="domain_requirement"),
    path("break-glass/", views.break_glass, name="break_glass"),
    path("remove/", views.remove, name="remove"),
]
