from django.urls import path

from api import console_views

app_name = "api_tokens"

urlpatterns = [
    path("", console_views.token_list, name="list"),
    path("new/", console_views.token_create, name="create"),
    path("<int:pk>/revoke/", console_views.token_revoke, name="revoke"),
]
