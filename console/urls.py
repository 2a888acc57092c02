from django.contrib.auth import views as auth_views
from django.urls import path

from console import views
from console.throttle import ThrottledAuthenticationForm

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "sign-in/",
        auth_views.LoginView.as_view(
            template_name="registration/login.html", authentication_form=ThrottledAuthenticationForm
        ),
        name="login",
    ),
    path("sign-out/", auth_views.LogoutView.as_view(), name="logout"),
    path("sign-up/", views.sign_up, name="sign_up"),
    path("sign-up/done/", views.sign_up_done, name="sign_up_done"),
    path("verify-email/resend/", views.resend_verification, name="resend_verification"),
    # <path:…>: the signed token holds the address, and "/" is a valid character in one.
    path("verify-email/<path:token>/", views.verify_email, name="verify_email"),
    path("set-password/<uidb64>/<token>/", views.SetPasswordView.as_view(), name="set_password"),
    path(
        "set-password/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="registration/set_password_done.html"),
        name="set_password_done",
    ),
    path("password-reset/", views.password_reset, name="password_reset"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="registration/password_change_done.html"),
        name="password_change_done",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="registration/password_reset_sent.html"),
        name="password_reset_done",
    ),
    path("users/", views.user_list, name="users"),
    path("users/<int:pk>/role/", views.user_change_role, name="user_change_role"),
    path("users/<int:pk>/remove/", views.user_remove, name="user_remove"),
    path("users/<int:pk>/resend-invitation/", views.user_resend_invitation, name="user_resend_invitation"),
    path("accounts/", views.account_list, name="accounts"),
    path("audit/", views.audit_list, name="audit"),
    path("audit/<int:pk>/", views.audit_detail, name="audit_detail"),
]
