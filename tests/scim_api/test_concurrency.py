"""Ordinary IdP traffic never deadlocks into a 500: user PATCHes, group-membership PATCHes on the same
users and the pipeline's drain (role recompute, offboarding) run at once, each on its own connection."""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
from django.db import connection

from directory.roles import map_group_to_role
from provisioning.drain import dispatch_tenant
from tests.support.directory import ADMIN
from tests.support.scim_client import ScimClient
from tests.support.tenants import ensure_tenant

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
ROUNDS = 60  # per thread; every loop is bounded


def _in_thread(fn, results: list[object]) -> threading.Thread:  # type: ignore[no-untyped-def]
    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # reported to the test, not lost in the thread
            results.append(exc)
        finally:
            connection.close()

    return threading.Thread(target=run)


def test_user_and_membership_patches_and_the_drain_never_deadlock_into_500s(settings, caplog):
    settings.ROLLCALL_DISPATCH_TX_EVENTS = 10
    tenant = ensure_tenant("alpha", "Alpha Corp")
    admin = ScimClient.for_tenant(tenant)
    users = [admin.create_user(f"u{i}@alpha.test")["id"] for i in range(4)]
    groups = [admin.create_group(f"G{i}", users[i::2])["id"] for i in range(2)]
    from tenants.context import tenant_schema

    with tenant_schema(tenant):
        map_group_to_role(group_id=groups[0], role_key="editor", actor=ADMIN)
        map_group_to_role(group_id=groups[1], role_key="admin", actor=ADMIN)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    errors: list[object] = []
    rng = random.Random(7)

    def patch_users() -> None:
        client = ScimClient(admin.connection_id, admin.token, tenant)
        for i in range(ROUNDS):
            user = rng.choice(users)
            body: list[dict[str, object]] = [{"op": "replace", "path": "title", "value": f"t{i}"}]
            if i % 7 == 0:
                body.append({"op": "replace", "path": "active", "value": i % 2 == 0})
            r = client.patch_ops(f"/Users/{user}", *body)
            with lock:
                statuses[r.status] += 1

    def patch_memberships() -> None:
        client = ScimClient(admin.connection_id, admin.token, tenant)
        for i in range(ROUNDS):
            group, user = rng.choice(groups), rng.choice(users)
            op = {"op": "add", "path": "members", "value": [{"value": user}]} if i % 2 else {
                "op": "remove", "path": f'members[value eq "{user}"]'
            }
            r = client.patch_ops(f"/Groups/{group}", op)
            with lock:
                statuses[r.status] += 1

    def drain() -> None:
        for _ in range(ROUNDS):
            dispatch_tenant(tenant.schema_name)

    threads = [_in_thread(fn, errors) for fn in (patch_users, patch_users, patch_memberships, patch_memberships, drain)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    failures = [r.exc_text or r.getMessage() for r in caplog.records if r.name == "scim_api.views" and r.levelname == "ERROR"]
    assert statuses[500] == 0, (statuses, failures[:2])
    assert set(statuses) <= {200, 204}, statuses
