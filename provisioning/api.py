"""The Events API: GET /api/v1/events?after=<cursor>&limit=<n> with `Authorization: Bearer <api key>`.

Cursor: an opaque string (base64url of "v1:<seq>") naming the last event the client has seen.
Events are returned in seq order; seq is gap-free in commit order, so paging by it never skips
an event. `next_cursor` is always present: pass it back as `after` to continue (when `has_more` is
false you are caught up; poll again later with the same cursor).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException, AuthenticationFailed, NotAuthenticated, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from outbox.envelope import envelope
from outbox.selectors import events_after
from tenants import secrets
from tenants.context import TenantRef, tenant_schema
from tenants.models import ApiKey, Tenant

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
CURSOR_VERSION = "v1"
_CURSOR_RE = re.compile(r"^v1:(0|[1-9][0-9]{0,18})$")
# Compared against when the key id is unknown, so an unknown id costs the same as a wrong secret.
_DUMMY_DIGEST = "0" * 64
LAST_USED_RESOLUTION = timedelta(minutes=1)


class InvalidCursor(ValueError):
    pass


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_VERSION}:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The seq inside a cursor; InvalidCursor for anything this API did not issue."""
    if not cursor or len(cursor) > 64:
        raise InvalidCursor("cursor is empty or too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor("cursor is not valid") from None
    match = _CURSOR_RE.match(raw)
    if match is None:
        raise InvalidCursor("cursor is not valid")
    return int(match.group(1))


# --------------------------------------------------------------------------- authentication


@dataclass(frozen=True)
class ApiPrincipal:
    """Who is calling: a tenant, through one of its API keys."""

    tenant: TenantRef
    key_id: str
    is_authenticated: bool = True


class ApiKeyAuthentication(BaseAuthentication):
    """Bearer <API key>: the key id selects the row, the whole key is checked in constant time."""

    def authenticate(self, request: Request) -> tuple[ApiPrincipal, str] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return None
        key = key.strip()
        key_id = secrets.split_api_key(key)
        row = (
            ApiKey.objects.select_related("tenant").filter(key_id=key_id, revoked_at__isnull=True).first()
            if key_id
            else None
        )
        valid = secrets.matches(key, row.digest if row is not None else _DUMMY_DIGEST)
        if row is None or not valid or row.tenant.status != Tenant.Status.ACTIVE:
            raise AuthenticationFailed("invalid API key")
        now = timezone.now()
        if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=row.pk).update(last_used_at=now)
        return ApiPrincipal(tenant=TenantRef.of(row.tenant), key_id=row.key_id), row.key_id

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="rollcall"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "provisioning.api.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "description": "A tenant API key (rck_...), created by the vendor."}


class HasTenant(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, ApiPrincipal)


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every error as {"error": {"code", "message"}} with the right status (401 carries WWW-Authenticate)."""
    if isinstance(exc, (NotAuthenticated, AuthenticationFailed)):
        response = Response(error_body("unauthorized", "a valid API key is required"), status=status.HTTP_401_UNAUTHORIZED)
        response["WWW-Authenticate"] = 'Bearer realm="rollcall"'
        return response
    if isinstance(exc, ValidationError):
        detail = exc.detail
        message = "; ".join(f"{k}: {v[0] if isinstance(v, list) else v}" for k, v in detail.items()) if isinstance(detail, dict) else str(detail)
        return Response(error_body("invalid_request", message), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, APIException):
        return Response(error_body(exc.default_code, str(exc.detail)), status=exc.status_code)
    return None


# --------------------------------------------------------------------------- the view


class EventsQuery(serializers.Serializer):
    after = serializers.CharField(required=False, allow_blank=False, help_text="Cursor from a previous response.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)

    def validate_after(self, value: str) -> int:
        try:
            return decode_cursor(value)
        except InvalidCursor as exc:
            raise serializers.ValidationError(str(exc)) from None


class EventSerializer(serializers.Serializer):
    id = serializers.CharField(help_text='"<tenant>:<seq>", the same id webhooks carry.')
    seq = serializers.IntegerField(help_text="Per-tenant, gap-free, increasing in commit order.")
    type = serializers.CharField(help_text="user.created, user.deactivated, group.member_added, role.changed, ...")
    occurred_at = serializers.DateTimeField()
    data = serializers.JSONField(help_text="The event payload.")


EventsPage = inline_serializer(
    name="EventsPage",
    fields={
        "data": EventSerializer(many=True),
        "next_cursor": serializers.CharField(help_text="Pass as `after` to continue; never null."),
        "has_more": serializers.BooleanField(help_text="More events are available right now."),
    },
)
ErrorSerializer = inline_serializer(
    name="Error",
    fields={"error": inline_serializer(name="ErrorBody", fields={"code": serializers.CharField(), "message": serializers.CharField()})},
)


class EventsView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasTenant]

    def get_exception_handler(self):  # type: ignore[no-untyped-def]
        return api_exception_handler

    @extend_schema(
        operation_id="list_events",
        summary="List provisioning events in order",
        parameters=[
            OpenApiParameter("after", str, description="Opaque cursor; omit to start at the first event."),
            OpenApiParameter("limit", int, description=f"1..{MAX_LIMIT}, default {DEFAULT_LIMIT}."),
        ],
        responses={
            200: EventsPage,
            400: OpenApiResponse(ErrorSerializer, description="Bad cursor or limit."),
            401: OpenApiResponse(ErrorSerializer, description="Missing or invalid API key."),
        },
    )
    def get(self, request: Request) -> Response:
        query = EventsQuery(data=request.query_params.dict())  # plain dict: an empty `after=` is an error
        query.is_valid(raise_exception=True)
        after: int = query.validated_data.get("after", 0)
        limit: int = query.validated_data["limit"]
        principal: ApiPrincipal = request.user  # type: ignore[assignment]
        with tenant_schema(principal.tenant):
            events = events_after(after, limit + 1)
        has_more = len(events) > limit
        events = events[:limit]
        data = [envelope(principal.tenant.slug, e) for e in events]
        next_seq = events[-1].seq if events else after
        return Response(
            {"data": EventSerializer(data, many=True).data, "next_cursor": encode_cursor(next_seq), "has_more": has_more}
        )
