"""Email the pipeline sends (welcome mails templated per tenant, admin alerts), through an outbox.

A handler never talks to a mail server. `enqueue` writes an OutboundEmail row in the handler's
transaction (its dedupe key makes a replayed event a no-op); after commit a sender task
(`send_pending`) locks unsent rows, sends them and marks them sent in one transaction. Rolled-back
handlers therefore send nothing, a slow mail server never holds up a tenant's ordered queue, and a
crashed sender's rows are picked up again (by the sweeper). A duplicate is possible only if a sender
dies between the mail server accepting a message and its commit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import F
from django.template import Context, Engine
from django.template.loader import render_to_string
from django.utils import timezone

from provisioning.backoff import backoff_seconds
from provisioning.models import OutboundEmail
from tenants.context import TenantRef, current_schema

log = logging.getLogger(__name__)
MAX_EMAIL_ATTEMPTS = 10
RETRY_BASE_SECONDS = 30.0
RETRY_CAP_SECONDS = 3600.0

# Tenant-supplied templates render in an engine without loaders or tag libraries: variables and
# the builtin filters work, {% include %} / {% load %} cannot reach server files.
_TENANT_ENGINE = Engine(dirs=[], app_dirs=False, loaders=[], libraries={}, autoescape=True)

# While the dispatcher runs a batch, committed email ids are collected here and sent per batch;
# elsewhere (beat jobs, webhook senders) each commit wakes a sender itself.
_collector: ContextVar[list[int] | None] = ContextVar("rollcall_email_collector", default=None)

_INSERT_SQL = """
INSERT INTO provisioning_outboundemail
    (dedupe_key, kind, recipients, subject, body_text, body_html, seq, created_at, next_attempt_at, attempts, last_error)
VALUES {rows}
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id
"""
_INSERT_ROW = "(%s, %s, %s, %s, %s, %s, %s, %s, %s, 0, '')"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None


def _render_tenant_template(source: str, context: dict[str, Any], *, autoescape: bool) -> str:
    template = _TENANT_ENGINE.from_string(source)
    return template.render(Context(context, autoescape=autoescape))


def render_email(name: str, tenant: TenantRef, context: dict[str, Any]) -> RenderedEmail:
    """Render `name` (welcome, notification) from the tenant's override in settings or the default files."""
    override = tenant.settings.get(f"{name}_email")
    if isinstance(override, dict) and override.get("subject") and override.get("text"):
        subject = _render_tenant_template(str(override["subject"]), context, autoescape=False)
        text = _render_tenant_template(str(override["text"]), context, autoescape=False)
        html = (
            _render_tenant_template(str(override["html"]), context, autoescape=True) if override.get("html") else None
        )
    else:
        subject = render_to_string(f"email/{name}_subject.txt", context)
        text = render_to_string(f"email/{name}.txt", context)
        html = render_to_string(f"email/{name}.html", context)
    return RenderedEmail(subject=" ".join(subject.split())[:255], text=text, html=html)


@contextmanager
def collecting_emails() -> Iterator[list[int]]:
    """Collect the ids of emails committed inside the block instead of waking a sender per email."""
    ids: list[int] = []
    token = _collector.set(ids)
    try:
        yield ids
    finally:
        _collector.reset(token)


@dataclass(frozen=True)
class OutgoingEmail:
    dedupe_key: str  # a second message with the same key is dropped (a replayed event mails no one twice)
    kind: str
    to: Sequence[str]
    email: RenderedEmail
    seq: int | None = None  # the event that caused it


def enqueue(*, dedupe_key: str, kind: str, to: Sequence[str], email: RenderedEmail, seq: int | None = None) -> int | None:
    """Put a message in the current schema's outbox (caller's transaction); None if the key was used."""
    ids = enqueue_many([OutgoingEmail(dedupe_key=dedupe_key, kind=kind, to=to, email=email, seq=seq)])
    return ids[0] if ids else None


def enqueue_many(messages: Sequence[OutgoingEmail]) -> list[int]:
    """Put messages in the current schema's outbox in one INSERT (caller's transaction); the ids of
    those whose dedupe key was new. Messages without recipients are dropped."""
    wanted = [m for m in messages if m.to]
    if not wanted:
        return []
    now = timezone.now()
    params: list[Any] = []
    for m in wanted:
        params += [m.dedupe_key, m.kind, json.dumps(list(m.to)), m.email.subject, m.email.text, m.email.html or "", m.seq, now, now]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL.format(rows=", ".join([_INSERT_ROW] * len(wanted))), params)
        email_ids = [int(row[0]) for row in cursor.fetchall()]
    if not email_ids:
        return []
    collector = _collector.get()
    if collector is not None:
        transaction.on_commit(lambda: collector.extend(email_ids))
    else:
        schema = current_schema()
        transaction.on_commit(lambda: _wake_sender(schema))
    return email_ids


def _wake_sender(schema_name: str) -> None:
    from provisioning.wakeups import request_outbound

    request_outbound(schema_name)


@dataclass
class EmailReport:
    sent: int = 0
    failed: int = 0


def send_pending(ids: Sequence[int] | None = None, *, limit: int = 100) -> EmailReport:
    """Send due unsent emails of the current schema (the given ids, or any), marking each sent or failed."""
    report = EmailReport()
    now = timezone.now()
    with transaction.atomic():
        due = OutboundEmail.objects.filter(sent_at__isnull=True, given_up_at__isnull=True, next_attempt_at__lte=now)
        if ids is not None:
            due = due.filter(id__in=list(ids))
        rows = list(due.order_by("id").select_for_update(skip_locked=True)[:limit])
        if not rows:
            return report
        sent: list[int] = []
        with get_connection(fail_silently=False) as mail:
            for row in rows:
                message = EmailMultiAlternatives(
                    row.subject, row.body_text, settings.DEFAULT_FROM_EMAIL, list(row.recipients), connection=mail
                )
                if row.body_html:
                    message.attach_alternative(row.body_html, "text/html")
                try:
                    message.send()
                except Exception as exc:  # the mail server refused or is down: retry later
                    log.warning("email %s (%s) not sent: %s", row.id, row.kind, exc)
                    _record_failure(row, exc)
                    report.failed += 1
                else:
                    sent.append(row.id)
        if sent:
            OutboundEmail.objects.filter(id__in=sent).update(sent_at=timezone.now(), attempts=F("attempts") + 1, last_error="")
            report.sent = len(sent)
    return report


def _record_failure(row: OutboundEmail, exc: Exception) -> None:
    attempts = row.attempts + 1
    now = timezone.now()
    OutboundEmail.objects.filter(pk=row.pk).update(
        attempts=attempts,
        last_error=f"{type(exc).__name__}: {exc}"[:2000],
        next_attempt_at=now + timedelta(seconds=backoff_seconds(attempts, base=RETRY_BASE_SECONDS, cap=RETRY_CAP_SECONDS)),
        given_up_at=now if attempts >= MAX_EMAIL_ATTEMPTS else None,
    )
