"""Webhooks: signed JSON, one delivery per matching endpoint, backoff with jitter, dead letters, replay."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from outbox.event_types import EventType
from outbox.models import Event
from provisioning.models import Notification, WebhookDelivery, WebhookEndpoint
from provisioning.tunables import pipeline_config
from provisioning.webhooks import delivery as sending
from provisioning.webhooks import endpoints, replay, signing
from tenants.context import tenant_schema
from tests.provisioning.support import drain, make_user, webhook_receiver

pytestmark = pytest.mark.django_db
Status = WebhookDelivery.Status


@pytest.fixture(autouse=True)
def fast_webhooks(settings):
    settings.ROLLCALL_WEBHOOK_ALLOW_PRIVATE = True
    settings.ROLLCALL_WEBHOOK_RETRY_BASE = 0.01
    settings.ROLLCALL_WEBHOOK_RETRY_CAP = 0.02
    settings.ROLLCALL_WEBHOOK_MAX_ATTEMPTS = 3
    settings.ROLLCALL_WEBHOOK_FAILING_AFTER = 2
    settings.ROLLCALL_WEBHOOK_TIMEOUT = 2.0


def verify_like_the_docs(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """The verification snippet from docs/pipeline.md, verbatim in spirit: stdlib only."""
    parts = dict(p.split("=", 1) for p in header.split(",") if p.startswith("t="))
    signatures = [p.split("=", 1)[1] for p in header.split(",") if p.startswith("v1=")]
    timestamp = int(parts["t"])
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s) for s in signatures)


def due_now(tenant) -> None:
    with tenant_schema(tenant):
        WebhookDelivery.objects.filter(status=Status.RETRYING).update(next_attempt_at=timezone.now())


def test_handled_event_is_posted_signed_with_ids_in_headers(acme):
    with webhook_receiver() as receiver, tenant_schema(acme):
        created = endpoints.create_endpoint(url=receiver.on("/hooks"))
        user = make_user("ada@acme.test")
        drain(acme)
        report = sending.deliver(acme)
        (hit,) = receiver.hits("/hooks")
        event = Event.objects.get(type=EventType.USER_CREATED)
    assert report.succeeded >= 1
    body = hit.json
    assert body == {
        "id": f"{acme.slug}:{event.seq}",
        "seq": event.seq,
        "type": "user.created",
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "data": event.payload,
    }
    assert body["data"]["user"]["id"] == str(user.id)
    assert hit.headers["Rollcall-Event-Id"] == f"{acme.slug}:{event.seq}"
    assert hit.headers["Rollcall-Event-Seq"] == str(event.seq)
    header = hit.headers["Rollcall-Signature"]
    assert header.startswith("t=") and ",v1=" in header
    assert verify_like_the_docs(created.secret, header, hit.body)
    assert signing.verify(created.secret, header, hit.body) > 0
    assert not verify_like_the_docs("whsec_wrong", header, hit.body)


def test_the_signing_secret_is_not_stored(acme):
    with tenant_schema(acme):
        created = endpoints.create_endpoint(url="https://hooks.example.com/rollcall")
        row = WebhookEndpoint.objects.filter(id=created.endpoint.id).values()[0]
    assert created.secret.startswith("whsec_")
    assert created.secret not in json.dumps(row, default=str)
    assert row["secret_prefix"] == created.secret[:10]


def test_endpoint_event_type_filter_decides_which_events_fan_out(acme):
    with tenant_schema(acme):
        everything = endpoints.create_endpoint(url="https://a.example.com/h").endpoint
        offboarding = endpoints.create_endpoint(
            url="https://b.example.com/h", event_types=["user.deactivated", "user.access_revoked"]
        ).endpoint
        endpoints.update_endpoint(endpoint_id=endpoints.create_endpoint(url="https://c.example.com/h").endpoint.id, active=False)
        make_user("ada@acme.test")
        drain(acme)
        by_endpoint = {
            e.id: sorted(WebhookDelivery.objects.filter(endpoint=e).values_list("event_type", flat=True))
            for e in WebhookEndpoint.objects.all()
        }
    assert by_endpoint[everything.id] == ["user.created"]
    assert by_endpoint[offboarding.id] == []
    assert sum(len(v) for v in by_endpoint.values()) == 1


def test_unknown_event_types_and_bad_urls_are_refused(acme, settings):
    settings.ROLLCALL_WEBHOOK_ALLOW_PRIVATE = False
    with tenant_schema(acme):
        with pytest.raises(endpoints.WebhookError, match="unknown event type"):
            endpoints.create_endpoint(url="https://a.example.com/h", event_types=["user.exploded"])
        for url in ("ftp://a.example.com/h", "http://127.0.0.1:9/h", "http://localhost/h", "https://u:p@a.example.com/"):
            with pytest.raises(endpoints.WebhookError):
                endpoints.create_endpoint(url=url)


def test_private_destinations_are_refused_at_send_time_unless_allowed(acme, settings):
    with webhook_receiver() as receiver, tenant_schema(acme):
        endpoints.create_endpoint(url=receiver.on("/h"))
        make_user("ada@acme.test")
        drain(acme)
        settings.ROLLCALL_WEBHOOK_ALLOW_PRIVATE = False
        report = sending.deliver(acme)
        delivery = WebhookDelivery.objects.get()
    assert report.failed == 1 and receiver.received == []
    assert "private or local address" in delivery.last_error


def test_failing_endpoint_is_retried_with_backoff_and_then_succeeds(acme):
    with webhook_receiver() as receiver, tenant_schema(acme):
        endpoints.create_endpoint(url=receiver.on("/flaky", 500, 503))
        make_user("ada@acme.test")
        drain(acme)
        first = sending.deliver(acme)
        delivery = WebhookDelivery.objects.get()
        assert first.failed == 1 and delivery.status == Status.RETRYING and delivery.last_status_code == 500
        assert first.retry_in is not None and 0.005 <= first.retry_in <= 0.01
        for _ in range(3):
            due_now(acme)
            sending.deliver(acme)
        delivery.refresh_from_db()
        assert delivery.status == Status.SUCCEEDED and delivery.attempts == 3
        assert [a.status_code for a in delivery.attempt_log.order_by("id")] == [500, 503, 200]
        assert WebhookEndpoint.objects.get().consecutive_failures == 0
    assert len(receiver.hits("/flaky")) == 3
    bodies = {h.body for h in receiver.hits("/flaky")}
    assert len(bodies) == 1  # the same body on every retry (receivers dedupe by id)


def test_permanently_failing_endpoint_dead_letters_alerts_and_can_be_replayed(acme):
    from tenants.models import Tenant

    Tenant.objects.filter(id=acme.id).update(settings={"admin_emails": ["it@acme.test"]})
    with webhook_receiver() as receiver, tenant_schema(acme):
        url = receiver.on("/down", then=500)
        endpoint = endpoints.create_endpoint(url=url).endpoint
        make_user("ada@acme.test")
        drain(acme)
        for _ in range(3):
            due_now(acme)
            sending.deliver(acme)
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == Status.DEAD and delivery.attempts == 3 and delivery.dead_at
        kinds = set(Notification.objects.values_list("dedupe_key", flat=True))
        assert {f"webhook_failing:{endpoint.id}", f"webhook_dead:{endpoint.id}"} <= kinds
        assert sending.deliver(acme).claimed == 0  # dead letters are not retried on their own

        receiver.on("/down", then=200)
        replay.replay_delivery(tenant=acme, delivery_id=delivery.pk)
        assert sending.deliver(acme).succeeded == 1
        delivery.refresh_from_db()
        assert delivery.status == Status.SUCCEEDED and delivery.replays == 1 and delivery.total_attempts == 4


def test_bulk_replay_by_seq_window_resends_and_backfills_a_new_endpoint(acme):
    with webhook_receiver() as receiver, tenant_schema(acme):
        for i in range(4):
            make_user(f"u{i}@acme.test")
        drain(acme)
        seqs = list(Event.objects.filter(type="user.created").order_by("seq").values_list("seq", flat=True))
        late = endpoints.create_endpoint(url=receiver.on("/late"), event_types=["user.created"]).endpoint
        assert WebhookDelivery.objects.count() == 0  # created after the events: nothing yet
        count = replay.replay_deliveries(tenant=acme, endpoint_id=late.id, seq_from=seqs[1], seq_to=seqs[2])
        assert count == 2
        sending.deliver(acme)
        assert sorted(h.json["seq"] for h in receiver.hits("/late")) == seqs[1:3]
        again = replay.replay_deliveries(tenant=acme, endpoint_id=late.id, since=timezone.now() - timedelta(hours=1))
        assert again == 4  # two re-sent, two backfilled
        sending.deliver(acme)
    assert len(receiver.hits("/late")) == 6


def test_rotated_secret_signs_with_both_during_the_overlap(acme):
    with webhook_receiver() as receiver, tenant_schema(acme):
        created = endpoints.create_endpoint(url=receiver.on("/h"))
        new_secret = endpoints.rotate_secret(endpoint_id=created.endpoint.id)
        make_user("ada@acme.test")
        drain(acme)
        sending.deliver(acme)
    (hit,) = receiver.hits("/h")
    header = hit.headers["Rollcall-Signature"]
    assert header.count("v1=") == 2
    assert verify_like_the_docs(created.secret, header, hit.body)
    assert verify_like_the_docs(new_secret, header, hit.body)


def test_backoff_is_exponential_with_jitter_and_capped():
    conf = pipeline_config()
    rng = random.Random(7)
    base, cap = conf.webhook_retry_base, conf.webhook_retry_cap
    for attempt in range(1, 30):
        delay = sending.retry_delay(attempt, conf, rng)
        full = min(cap, base * 2 ** (attempt - 1))
        assert full / 2 <= delay <= full


def test_signature_verification_rejects_stale_and_tampered_messages():
    body = b'{"id":"acme:1"}'
    header = signing.signature_header("whsec_x", body, timestamp=1_000)
    assert signing.verify("whsec_x", header, body, now=1_100) == 1_000
    with pytest.raises(signing.InvalidSignature, match="tolerance"):
        signing.verify("whsec_x", header, body, now=5_000)
    with pytest.raises(signing.InvalidSignature, match="mismatch"):
        signing.verify("whsec_x", header, body + b" ", now=1_100)


def test_management_command_creates_lists_and_replays(acme):
    out = StringIO()
    call_command("rollcall_webhooks", "create", "--tenant", acme.slug, "--url", "https://hooks.example.com/x",
                 "--events", "user.created", "--json", stdout=out)
    created = json.loads(out.getvalue())
    assert created["secret"].startswith("whsec_")
    with tenant_schema(acme):
        make_user("ada@acme.test")
        drain(acme)
        delivery = WebhookDelivery.objects.get()
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=Status.DEAD)
    out = StringIO()
    call_command("rollcall_webhooks", "list", "--tenant", acme.slug, "--json", stdout=out)
    (listed,) = json.loads(out.getvalue())["endpoints"]
    assert listed["dead"] == 1 and "secret" not in listed
    out = StringIO()
    call_command("rollcall_webhooks", "replay", "--tenant", acme.slug, "--endpoint", created["endpoint_id"],
                 "--dead-only", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"replayed": 1}
    with tenant_schema(acme):
        assert WebhookDelivery.objects.get().status == Status.PENDING
