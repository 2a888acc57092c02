from django.urls import path

from domains import views

app_name = "domains"

urlpatterns = [
    path("", views.domain_list, name="list"),
    path("add/", views.domain_add, name="add"),
    path("<int:pk>/", views.domain_detail, name="detail"),
    path("<int:pk>/verify/", views.domain_verify, name="verify"),
    path("<int:pk>/verify/check/", views.domain_verify_now, name="verify_now"),
    path("<int:pk>/method/", views.domain_method, name="method"),
    path("<int:pk>/html-file/", views.domain_html_file, name="html_file"),
    path("<int:pk>/settings/", views.domain_settings, name="settings"),
    path("<int:pk>/delete/", views.domain_delete, name="delete"),
    path("<int:pk>/add-back/", views.domain_add_back, name="add_back"),
]

# Mounted under users/ by the root URLconf: adding a user needs a verified domain.
member_urlpatterns = [
    path("add/", views.user_add, name="add"),
]
