from django.urls import path

from domains import views

app_name = "domains"

urlpatterns = [
    path("", views.domain_list, name="list"),
]
