from django.db import transaction
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from api import serializers as s
from api.base import ApiView
from api.conditional import etag_of, require_match
from api.idempotency import idempotent
from api.views.common import (
    CURSOR,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    LIMIT,
    choice_param,
    paginate,
    problems,
    text_param,
    validated,
    with_etag,
)
from console import selectors, services
from console.models import Membership
from domains import members


def member_etag(membership: Membership) -> str:
    return etag_of("member", membership.pk, membership.role)


class UsersView(ApiView):
    scopes = {"GET": "users:read", "POST": "users:write"}
    query_parameters = {"GET": {"q", "role", "cursor", "limit"}}

    @extend_schema(
        operation_id="users_list",
        summary="List the organization's managed users",
        parameters=[
            OpenApiParameter("q", str, description="Search in e-mail address and name."),
            OpenApiParameter("role", str, enum=Membership.Role.values),
            CURSOR,
            LIMIT,
        ],
        responses={200: s.page_of(s.MemberSerializer), **problems(400, 404)},
    )
    def get(self, request):
        role = choice_param(request, "role", Membership.Role.values)
        search = text_param(request, "q", max_length=254)
        queryset = selectors.members_of(organization=self.organization, search=search, role=role)
        return paginate(self, request, queryset, s.MemberSerializer, ordering="pk")

    @extend_schema(
        operation_id="users_add",
        summary="Add a user by e-mail at a verified domain of the organization",
        description="The same admission rule and messages as the console: an unknown address gets an invitation, "
        "an independent user becomes managed with their accounts, anyone else is refused with the reason.",
        request=s.MemberAddSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: s.MemberSerializer, **problems(400, 409, 415, 422)},
    )
    @idempotent
    def post(self, request):
        data = validated(s.MemberAddSerializer, request)
        membership = members.add_member(
            organization=self.organization, email=data["email"], role=data["role"], actor=request.user
        )
        membership = selectors.members_of(organization=self.organization).get(pk=membership.pk)
        return with_etag(
            s.MemberSerializer(membership).data,
            member_etag(membership),
            status=201,
            location=reverse("api:user", args=[membership.pk]),
        )


class UserView(ApiView):
    scopes = {"GET": "users:read", "PATCH": "users:write", "DELETE": "users:write"}

    def load(self, pk) -> Membership:
        membership = selectors.members_of(organization=self.organization).filter(pk=pk).first()
        if membership is None:
            raise Http404
        return membership

    @extend_schema(
        operation_id="users_get",
        summary="A managed user",
        responses={200: s.MemberSerializer, **problems(404)},
    )
    def get(self, request, pk):
        membership = self.load(pk)
        return with_etag(s.MemberSerializer(membership).data, member_etag(membership))

    @extend_schema(
        operation_id="users_change_role",
        summary="Change a user's role",
        description="Only Owners grant, change or remove the Owner role; the last Owner is never demoted.",
        request=s.MemberChangeSerializer,
        parameters=[IF_MATCH],
        responses={200: s.MemberSerializer, **problems(400, 404, 409, 412, 415, 422)},
    )
    def patch(self, request, pk):
        data = validated(s.MemberChangeSerializer, request)
        with transaction.atomic():
            locked = (
                Membership.objects.select_for_update().filter(organization=self.organization, pk=pk).first()
            )
            if locked is None:
                raise Http404
            require_match(request, member_etag(locked))
            services.change_role(membership=locked, role=data["role"], actor=request.user)
        membership = self.load(pk)
        return with_etag(s.MemberSerializer(membership).data, member_etag(membership))

    @extend_schema(
        operation_id="users_remove",
        summary="Remove a user from the organization",
        description="They become an independent user again with their accounts; nothing is deleted.",
        parameters=[IF_MATCH],
        responses={204: None, **problems(404, 409, 412)},
    )
    def delete(self, request, pk):
        with transaction.atomic():
            locked = (
                Membership.objects.select_for_update().filter(organization=self.organization, pk=pk).first()
            )
            if locked is None:
                raise Http404
            require_match(request, member_etag(locked))
            services.remove_member(membership=locked, actor=request.user)
        return Response(status=204)
