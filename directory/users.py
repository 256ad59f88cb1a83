"""User lifecycle services: create, replace, patch, delete. Each writes its outbox events atomically."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from directory import selectors
from directory.mapping import map_user
from directory.mapping_store import effective_mapping
from directory.models import DirectoryUser, Membership, UserValue
from directory.serialize import etag
from provisioning.event_types import EventType
from provisioning.outbox import Actor, NewEvent, append_events
from scim.errors import ScimError, not_found, uniqueness
from scim.patch import PatchOperation, apply_patch
from scim.quirks import QuirkLog
from scim.resources import merge_for_replace
from scim.schema import USER

T = TypeVar("T")
MULTI_VALUED = ("emails", "phoneNumbers", "ims", "photos", "addresses", "entitlements", "roles", "x509Certificates")
ROW_COLUMNS = {"type", "primary", "value", "display"}
APP_COLUMNS = (
    "email",
    "given_name",
    "family_name",
    "display_name",
    "title",
    "department",
    "employee_number",
)


@dataclass(frozen=True)
class ChangeContext:
    """Who is changing the directory, and through which IdP profile's mapping."""

    actor: Actor
    idp: str = "generic"


def change_transaction() -> transaction.Atomic:
    """The transaction of one directory change (the row, its value rows and its outbox events).

    Nested in a caller's transaction (the SCIM view's, which also holds the request-log row) it
    adds no savepoint: a failed change fails the whole outer transaction, and every caller lets
    the error propagate rather than carrying on in that transaction.
    """
    return transaction.atomic(savepoint=False)


def uniqueness_guard(fn: Callable[[], T], what: str) -> T:
    """Run a write; a unique-index violation becomes SCIM 409 uniqueness (the transaction is rolled back)."""
    try:
        return fn()
    except IntegrityError as exc:
        raise uniqueness(f"{what} is already in use in this directory") from exc


def check_version(if_match: str | None, version: int) -> None:
    """RFC 7644 §3.14: If-Match with a different ETag -> 412, nothing changed."""
    if if_match is None:
        return
    candidates = [c.strip() for c in if_match.split(",")]
    if "*" in candidates:
        return
    current = etag(version)
    strong = current[2:]
    if not any(c in (current, strong) for c in candidates):
        raise ScimError(412, f"resource version is {current}, not {if_match}")


def _truncate(value: Any, limit: int) -> str:
    text = "" if value is None else str(value)
    return text[:limit]


def _apply_columns(user: DirectoryUser, resource: Mapping[str, Any], mapping: Mapping[str, str]) -> None:
    fields = map_user(resource, mapping)
    user.user_name = str(resource["userName"])
    external_id = resource.get("externalId")
    user.external_id = str(external_id) if external_id not in (None, "") else None
    user.active = bool(resource.get("active", True))
    for column in APP_COLUMNS:
        setattr(user, column, _truncate(fields.get(column), 512 if column in {"email", "display_name"} else 255))
    manager = fields.get("manager")
    user.manager_id = selectors.parse_id(manager) if isinstance(manager, str) and manager else None


def _value_rows(user: DirectoryUser, resource: Mapping[str, Any]) -> list[UserValue]:
    rows: list[UserValue] = []
    for attribute in MULTI_VALUED:
        for position, element in enumerate(resource.get(attribute) or []):
            if not isinstance(element, Mapping):
                continue
            rows.append(
                UserValue(
                    user=user,
                    attribute=attribute.lower(),
                    position=position,
                    type=str(element.get("type") or ""),
                    primary=element.get("primary") is True,
                    value=str(element.get("value") or ""),
                    display=str(element.get("display") or ""),
                    extra={k: v for k, v in element.items() if k not in ROW_COLUMNS},
                )
            )
    return rows


def _multi_valued_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    return any(old.get(a) != new.get(a) for a in MULTI_VALUED)


def user_payload(user: DirectoryUser) -> dict[str, Any]:
    """The user as the SaaS app sees it (mapped fields), for events and webhooks."""
    return {
        "id": str(user.id),
        "user_name": user.user_name,
        "external_id": user.external_id,
        "active": user.active,
        "kind": user.kind,
        "email": user.email,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "display_name": user.display_name,
        "title": user.title,
        "department": user.department,
        "employee_number": user.employee_number,
        "manager_id": str(user.manager_id) if user.manager_id else None,
    }


def _storable(resource: Mapping[str, Any]) -> dict[str, Any]:
    # Passwords are never stored (Rollcall does not authenticate users; the IdP does).
    return {k: v for k, v in resource.items() if k not in {"schemas", "id", "meta", "groups", "password"}}


def create_user(*, resource: Mapping[str, Any], ctx: ChangeContext) -> DirectoryUser:
    stored = _storable(resource)
    stored.setdefault("active", True)
    user = DirectoryUser(id=uuid.uuid4(), resource=stored, source_connection_id=ctx.actor.id)
    _apply_columns(user, stored, effective_mapping(ctx.idp))
    if not user.active:
        user.deactivated_at = timezone.now()

    def write() -> DirectoryUser:
        with change_transaction():
            user.save(force_insert=True)
            rows = _value_rows(user, stored)
            if rows:
                UserValue.objects.bulk_create(rows)
            append_events(
                [NewEvent(EventType.USER_CREATED, "User", str(user.id), {"user": user_payload(user)})],
                actor=ctx.actor,
            )
        return user

    return uniqueness_guard(write, f"userName {user.user_name!r}")


def _change_events(user: DirectoryUser, old: Mapping[str, Any], new: Mapping[str, Any], was_active: bool) -> list[NewEvent]:
    payload = {"user": user_payload(user)}
    events: list[NewEvent] = []
    changed = sorted(k for k in set(old) | set(new) if k != "active" and old.get(k) != new.get(k))
    if changed:
        events.append(NewEvent(EventType.USER_UPDATED, "User", str(user.id), {**payload, "changed": changed}))
    if was_active and not user.active:
        events.append(NewEvent(EventType.USER_DEACTIVATED, "User", str(user.id), payload))
    elif not was_active and user.active:
        events.append(NewEvent(EventType.USER_REACTIVATED, "User", str(user.id), payload))
    return events


def _save_change(user: DirectoryUser, new_resource: dict[str, Any], ctx: ChangeContext) -> DirectoryUser:
    """Persist a changed resource (inside the caller's transaction); a no-op keeps version and lastModified."""
    old = user.resource
    if new_resource == old:
        return user
    was_active = user.active
    user.resource = new_resource
    _apply_columns(user, new_resource, effective_mapping(ctx.idp))
    now = timezone.now()
    user.version += 1
    user.last_modified = now
    if was_active and not user.active:
        user.deactivated_at = now
    elif not was_active and user.active:
        user.deactivated_at = None
    user.save()
    if _multi_valued_changed(old, new_resource):
        UserValue.objects.filter(user=user).delete()
        rows = _value_rows(user, new_resource)
        if rows:
            UserValue.objects.bulk_create(rows)
    append_events(_change_events(user, old, new_resource, was_active), actor=ctx.actor)
    return user


def _locked_user(user_id: str, if_match: str | None) -> DirectoryUser:
    user = selectors.find_user(user_id, for_update=True)
    if user is None:
        raise not_found(f"User {user_id} not found")
    check_version(if_match, user.version)
    return user


def replace_user(
    *, user_id: str, resource: Mapping[str, Any], if_match: str | None, ctx: ChangeContext
) -> DirectoryUser:
    def write() -> DirectoryUser:
        with change_transaction():
            user = _locked_user(user_id, if_match)
            merged = _storable(merge_for_replace(user.resource, _storable(resource), USER))
            # A PUT that omits `active` must not (re)activate or deactivate anyone (Okta AIW, OneLogin).
            merged.setdefault("active", user.resource.get("active", True))
            return _save_change(user, merged, ctx)

    return uniqueness_guard(write, "userName")


def patch_user(
    *, user_id: str, operations: list[PatchOperation], if_match: str | None, ctx: ChangeContext, quirks: QuirkLog
) -> DirectoryUser:
    def write() -> DirectoryUser:
        with change_transaction():
            user = _locked_user(user_id, if_match)
            patched = apply_patch(user.resource, operations, USER, quirks)
            return _save_change(user, _storable(patched), ctx)

    return uniqueness_guard(write, "userName")


@functools.cache
def _delete_user_sql() -> str | None:
    """One statement deleting a user and every row that cascades from it, returning its groups.

    Django's collector would first SELECT each related table (django-tenants' global post_delete
    receiver disables its fast path): four extra round trips per delete. The cascade is read from
    the models, so a new relation to DirectoryUser is covered; None when a relation is not a plain
    cascade (SET_NULL, nested relations), and the caller falls back to Django's collector.
    """
    quote = connection.ops.quote_name
    ctes: list[str] = []
    for index, relation in enumerate(DirectoryUser._meta.related_objects):
        related = relation.related_model
        if relation.on_delete is not models.CASCADE or related._meta.related_objects:  # type: ignore[union-attr]
            return None
        returning = " RETURNING group_id" if related is Membership else ""
        column = relation.field.column
        assert column is not None
        ctes.append(
            f"d{index} AS (DELETE FROM {quote(related._meta.db_table)}"  # type: ignore[union-attr]
            f" WHERE {quote(column)} = %(id)s{returning})"
        )
    memberships = next(
        f"d{i}" for i, r in enumerate(DirectoryUser._meta.related_objects) if r.related_model is Membership
    )
    ctes.append(f"u AS (DELETE FROM {quote(DirectoryUser._meta.db_table)} WHERE id = %(id)s)")
    return f"WITH {', '.join(ctes)} SELECT group_id FROM {memberships} WHERE group_id IS NOT NULL"


def delete_user(*, user_id: str, if_match: str | None, ctx: ChangeContext) -> None:
    with change_transaction():
        user = _locked_user(user_id, if_match)
        statement = _delete_user_sql()
        if statement is None:
            groups = [str(g) for g in Membership.objects.filter(user_id=user.pk).values_list("group_id", flat=True)]
            user.delete()
        else:
            with connection.cursor() as cursor:
                cursor.execute(statement, {"id": user.pk})
                groups = [str(row[0]) for row in cursor.fetchall()]
        payload = {"user": user_payload(user), "groups": groups}
        append_events([NewEvent(EventType.USER_DELETED, "User", user_id, payload)], actor=ctx.actor)
