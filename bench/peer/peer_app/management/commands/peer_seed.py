"""Seed the peer's database directly through the ORM (benchmark set-up only, never timed).

Reads one JSON request on stdin and prints one JSON answer:

    {"action": "users", "prefix": "scale", "count": 10100}      -> {"ids": ["1", ...]}
    {"action": "group", "name": "g", "members": ["1", "2", ...]} -> {"id": "7"}

Rows look exactly like rows created through django-scim2's POST /Users and POST /Groups.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import CharField
from django.db.models.functions import Cast

from bench.peer.peer_app.models import PeerGroup, PeerUser

BATCH = 1000


def seed_users(prefix: str, count: int) -> list[str]:
    users = [
        PeerUser(
            username=f"{prefix}.{i:05d}@example.com",
            scim_username=f"{prefix}.{i:05d}@example.com",
            scim_external_id=f"{prefix}-ext-{i:05d}",
            email=f"{prefix}.{i:05d}@example.com",
            first_name="Seeded",
            last_name=f"User{i:05d}",
            is_active=True,
        )
        for i in range(count)
    ]
    with transaction.atomic():
        created = PeerUser.objects.bulk_create(users, batch_size=BATCH)
        ids = [user.pk for user in created]
        PeerUser.objects.filter(pk__in=ids).update(scim_id=Cast("id", CharField()))
    return [str(pk) for pk in ids]


def seed_group(name: str, members: list[str]) -> str:
    with transaction.atomic():
        group = PeerGroup(name=name, scim_external_id="")
        group.save()
        through = PeerUser.scim_groups.through
        rows = [through(peeruser_id=int(member), peergroup_id=group.pk) for member in members]
        through.objects.bulk_create(rows, batch_size=BATCH)
    return str(group.scim_id)


class Command(BaseCommand):
    help = "Seed peer users/groups from a JSON request on stdin (benchmark set-up only)."

    def handle(self, *args: Any, **options: Any) -> None:
        request = json.load(sys.stdin)
        action = request.get("action")
        if action == "users":
            answer: dict[str, Any] = {"ids": seed_users(request["prefix"], int(request["count"]))}
        elif action == "group":
            answer = {"id": seed_group(request["name"], [str(m) for m in request["members"]])}
        else:
            raise CommandError(f"unknown action {action!r}")
        self.stdout.write(json.dumps(answer))
