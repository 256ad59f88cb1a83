"""Tenant-schema SCIM request log: every request an IdP made, redacted, for the explorer and replay."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class AuthFailure(models.TextChoices):
    """Why a request on a known connection was refused with 401 (the client always sees the same 401)."""

    MISSING_HEADER = "missing_header"  # no Authorization header
    NOT_BEARER = "not_bearer"  # a header without the "Bearer " scheme (a bare token, Basic, ...)
    BEARER_DOUBLED = "bearer_doubled"  # "Bearer Bearer <token>": the IdP adds the scheme itself
    UNKNOWN_TOKEN = "unknown_token"  # no such token anywhere
    REVOKED_TOKEN = "revoked_token"
    EXPIRED_TOKEN = "expired_token"  # rotated out after its overlap window, or past its expiry
    OTHER_CONNECTION_TOKEN = "other_connection_token"  # a real token, of another connection
    CONNECTION_DISABLED = "connection_disabled"
    TENANT_SUSPENDED = "tenant_suspended"


AUTH_FAILURES = tuple(failure.value for failure in AuthFailure)


class RequestLog(models.Model):
    id = models.BigAutoField(primary_key=True)
    request_id = models.CharField(max_length=64)
    connection_id = models.CharField(max_length=32)
    idp = models.CharField(max_length=32)
    received_at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=1024)
    query = models.TextField(blank=True)
    status = models.PositiveSmallIntegerField()
    latency_ms = models.FloatField()
    user_agent = models.CharField(max_length=512, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    resource_type = models.CharField(max_length=32, blank=True)
    resource_id = models.CharField(max_length=64, blank=True)
    request_body = models.JSONField(null=True, blank=True)  # redacted
    response_body = models.JSONField(null=True, blank=True)  # errors only
    scim_type = models.CharField(max_length=32, blank=True)
    error_detail = models.TextField(blank=True)
    quirks = models.JSONField(default=list, blank=True)
    # Why authentication failed (401 rows only; blank for successes): one of AUTH_FAILURES.
    auth_failure = models.CharField(max_length=32, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["-received_at"], name="scim_reqlog_received"),
            models.Index(fields=["status", "-received_at"], name="scim_reqlog_status"),
            models.Index(fields=["resource_type", "resource_id"], name="scim_reqlog_resource"),
        ]
