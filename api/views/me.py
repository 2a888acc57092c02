from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from api import serializers as s
from api.base import ApiView
from api.views.common import problems


class MeView(ApiView):
    scopes = {"GET": ""}  # any valid token may read its own identity

    @extend_schema(
        operation_id="me",
        summary="The token's own identity: name, scopes, organization, the person it acts for",
        responses={200: s.MeSerializer, **problems()},
    )
    def get(self, request):
        return Response(s.MeSerializer(request.auth).data)
