"""A tenant's webhook endpoints: URL checks, event-type filters, signing secrets (derived, shown once)."""

from __future__ import annotations

import ipaddress
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from outbox.event_types import EventType
from provisioning.models import WebhookEndpoint
from provisioning.tunables import PipelineConfig, pipeline_config
from provisioning.webhooks import signing

SECRET_OVERLAP = timedelta(hours=24)


class WebhookError(Exception):
    """Bad input to a webhook service: a clear message, nothing changed."""


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown once


def validate_url(url: str, *, allow_private: bool) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError("the webhook URL must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise WebhookError("credentials in the webhook URL are not allowed; verify the signature instead")
    if not allow_private:
        try:
            ip = ipaddress.ip_address(parts.hostname)
        except ValueError:
            ip = None  # a host name: checked again at every send, after resolution
        if ip is not None and (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved):
            raise WebhookError("the webhook URL points to a private or local address")
        if parts.hostname in ("localhost",) or parts.hostname.endswith(".localhost"):
            raise WebhookError("the webhook URL points to a private or local address")
    return url.strip()


def validate_event_types(types: Iterable[str]) -> list[str]:
    try:
        return sorted({EventType.parse(t).value for t in types})
    except ValueError as exc:
        raise WebhookError(str(exc)) from None


def _secret(conf: PipelineConfig, endpoint_id: uuid.UUID, salt: str) -> str:
    return signing.derive_secret(conf.webhook_signing_key, str(endpoint_id), salt)


def create_endpoint(*, url: str, event_types: Iterable[str] = (), description: str = "") -> CreatedEndpoint:
    """Register an endpoint in the current tenant; returns its signing secret (shown once)."""
    conf = pipeline_config()
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(),
        url=validate_url(url, allow_private=conf.webhook_allow_private),
        event_types=validate_event_types(event_types),
        description=description[:200],
        secret_salt=secrets.token_hex(16),
    )
    secret = _secret(conf, endpoint.id, endpoint.secret_salt)
    endpoint.secret_prefix = secret[:10]
    endpoint.save(force_insert=True)
    return CreatedEndpoint(endpoint=endpoint, secret=secret)


def rotate_secret(*, endpoint_id: uuid.UUID | str) -> str:
    """A new secret (shown once); the old one keeps signing alongside for SECRET_OVERLAP."""
    conf = pipeline_config()
    now = timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(id=endpoint_id)
        endpoint.previous_secret_salt = endpoint.secret_salt
        endpoint.previous_secret_expires_at = now + SECRET_OVERLAP
        endpoint.secret_salt = secrets.token_hex(16)
        endpoint.secret_rotated_at = now
        secret = _secret(conf, endpoint.id, endpoint.secret_salt)
        endpoint.secret_prefix = secret[:10]
        endpoint.save()
    return secret


def update_endpoint(
    *,
    endpoint_id: uuid.UUID | str,
    url: str | None = None,
    event_types: Iterable[str] | None = None,
    active: bool | None = None,
    description: str | None = None,
) -> WebhookEndpoint:
    conf = pipeline_config()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(id=endpoint_id)
        if url is not None:
            endpoint.url = validate_url(url, allow_private=conf.webhook_allow_private)
        if event_types is not None:
            endpoint.event_types = validate_event_types(event_types)
        if active is not None:
            endpoint.active = active
            if active:
                endpoint.consecutive_failures = 0
        if description is not None:
            endpoint.description = description[:200]
        endpoint.save()
    return endpoint


def signing_secrets(endpoint: WebhookEndpoint, now: datetime, conf: PipelineConfig) -> list[str]:
    found = [_secret(conf, endpoint.id, endpoint.secret_salt)]
    if endpoint.previous_secret_salt and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        found.append(_secret(conf, endpoint.id, endpoint.previous_secret_salt))
    return found


