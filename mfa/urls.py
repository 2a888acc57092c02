from django.urls import path

from mfa import views

app_name = "mfa"

urlpatterns = [
    path("", views.security, name="security"),
    path("verify/", views.challenge, name="challenge"),
    path("verify/key-options/", views.challenge_key_options, name="challenge_key_options"),
    path("confirm/", views.reauthenticate, name="reauthenticate"),
    path("confirm/key-options/", views.reauthenticate_key_options, name="reauthenticate_key_options"),
    path("app/add/", views.totp_add, name="totp_add"),
    path("app/remove/", views.totp_remove, name="totp_remove"),
    path("keys/options/", views.key_options, name="key_options"),
    path("keys/add/", views.key_add, name="key_add"),
    path("keys/<int:pk>/remove/", views.key_remove, name="key_remove"),
    path("recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("policy/", views.policy, name="policy"),
]
