"""User lifecycle services: create, update (replace or patch), deactivate, reactivate, delete.

Each service locks what it changes, returns early when nothing changes, and writes the change with its
outbox events in one transaction. Services take and return documents and domain values; SCIM request
semantics (PUT merging, PATCH operations) stay at the SCIM edge, which passes them in as a `change`
function of the current document.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from django.db import connection, models
from django.utils import timezone

from directory import selectors
from directory.attribute_mappings import effective_mapping
from directory.catalog import USER_CATALOG, VALUE_ROW_COLUMNS
from directory.change import (
    ChangeContext,
    ExpectedVersion,
    change_transaction,
    check_version,
    unique_values_guard,
)
from directory.errors import InvalidValue, NotFound
from directory.mapping import APP_FIELDS, map_user
from directory.models import DirectoryUser, Membership, UserValue
from directory.normalization import normalize_names
from directory.payloads import app_field_values, user_payload
from outbox.append import Actor, NewEvent, append_events
from outbox.event_types import EventType

Document = dict[str, Any]
DocumentChange = Callable[[Document], Document]


def stored_document(resource: Mapping[str, Any]) -> Document:
    """The part of a resource the directory keeps: everything but the server-owned keys, with the
    identifying names normalised (directory.normalization)."""
    document = {k: v for k, v in resource.items() if k not in USER_CATALOG.server_keys}
    return normalize_names(document, USER_CATALOG)


def _column_value(column: str, nullable: bool, kind: str, value: Any, attribute: str) -> Any:
    if kind == "boolean":
        return bool(True if value is None else value)
    if value in (None, "") and nullable:
        return None
    if not isinstance(value, str) or (not value and not nullable):
        raise InvalidValue(f"{attribute} must be a non-empty string", field=attribute)
    limit = getattr(DirectoryUser._meta.get_field(column), "max_length", None)
    if limit is not None and len(value) > limit:
        raise InvalidValue(f"{attribute} is longer than {limit} characters", field=attribute)
    return value


def _apply_document(user: DirectoryUser, document: Mapping[str, Any], mapping: Mapping[str, str]) -> list[str]:
    """Set the columns mirrored from the document and the mapped app fields; the app fields that changed."""
    for stored in USER_CATALOG.columns:
        assert stored.column is not None
        value = _column_value(
            stored.column.name, stored.column.nullable, stored.column.type, document.get(stored.name), stored.name
        )
        setattr(user, stored.column.name, value)
    return _apply_app_fields(user, map_user(document, mapping))


def _apply_app_fields(user: DirectoryUser, fields: Mapping[str, str]) -> list[str]:
    before = app_field_values(user) if user.pk and not user._state.adding else {}
    extra: dict[str, str] = {}
    for key, value in fields.items():
        spec = next((f for f in APP_FIELDS if f.key == key), None)
        if spec is not None and spec.column is not None:
            if spec.user_reference:
                setattr(user, spec.column, selectors.parse_id(value) if value else None)
            else:
                setattr(user, spec.column, value)
        elif value:
            extra[key] = value
    user.extra_fields = extra
    after = app_field_values(user)
    return sorted(k for k in set(before) | set(after) if before.get(k, "") != after.get(k, ""))


def _value_rows(user: DirectoryUser, document: Mapping[str, Any]) -> list[UserValue]:
    rows: list[UserValue] = []
    for stored in USER_CATALOG.value_row_attributes:
        for position, element in enumerate(document.get(stored.name) or []):
            if not isinstance(element, Mapping):
                continue
            rows.append(
                UserValue(
                    user=user,
                    attribute=stored.name.lower(),
                    position=position,
                    type=str(element.get("type") or ""),
                    primary=element.get("primary") is True,
                    value=str(element.get("value") or ""),
                    display=str(element.get("display") or ""),
                    extra={k: v for k, v in element.items() if k not in VALUE_ROW_COLUMNS},
                )
            )
    return rows


def _value_rows_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    return any(old.get(s.name) != new.get(s.name) for s in USER_CATALOG.value_row_attributes)


def create_user(*, resource: Mapping[str, Any], ctx: ChangeContext) -> DirectoryUser:
    """Add a user (user.created); a userName already in use is a Conflict."""
    document = stored_document(resource)
    document.setdefault("active", True)
    user = DirectoryUser(id=uuid.uuid4(), resource=document, source_connection_id=ctx.actor.id[:32])
    _apply_document(user, document, effective_mapping(ctx.idp))
    if not user.active:
        user.deactivated_at = timezone.now()

    def write() -> DirectoryUser:
        with change_transaction():
            user.save(force_insert=True)
            rows = _value_rows(user, document)
            if rows:
                UserValue.objects.bulk_create(rows)
            append_events(
                [NewEvent(EventType.USER_CREATED, "User", str(user.id), {"user": user_payload(user)})],
                actor=ctx.actor,
            )
        return user

    return unique_values_guard(write, "userName", user.user_name)


def _change_events(
    user: DirectoryUser, old: Mapping[str, Any], new: Mapping[str, Any], was_active: bool, changed_fields: list[str]
) -> list[NewEvent]:
    payload = {"user": user_payload(user)}
    events: list[NewEvent] = []
    changed = sorted(k for k in set(old) | set(new) if k != "active" and old.get(k) != new.get(k))
    if changed:
        events.append(
            NewEvent(
                EventType.USER_UPDATED, "User", str(user.id), {**payload, "changed": changed, "changed_fields": changed_fields}
            )
        )
    if was_active and not user.active:
        events.append(NewEvent(EventType.USER_DEACTIVATED, "User", str(user.id), payload))
    elif not was_active and user.active:
        events.append(NewEvent(EventType.USER_REACTIVATED, "User", str(user.id), payload))
    return events


def _save_change(user: DirectoryUser, new_document: Document, ctx: ChangeContext) -> DirectoryUser:
    """Persist a changed document (inside the caller's transaction); a no-op keeps version and lastModified."""
    old = user.resource
    if new_document == old:
        return user
    was_active = user.active
    user.resource = new_document
    changed_fields = _apply_document(user, new_document, effective_mapping(ctx.idp))
    now = timezone.now()
    user.version += 1
    user.last_modified = now
    if was_active and not user.active:
        user.deactivated_at = now
    elif not was_active and user.active:
        user.deactivated_at = None
    user.save()
    if _value_rows_changed(old, new_document):
        UserValue.objects.filter(user=user).delete()
        rows = _value_rows(user, new_document)
        if rows:
            UserValue.objects.bulk_create(rows)
    append_events(_change_events(user, old, new_document, was_active, changed_fields), actor=ctx.actor)
    return user


def _locked_user(user_id: str | uuid.UUID, expected_version: ExpectedVersion) -> DirectoryUser:
    user = selectors.find_user(str(user_id), for_update=True)
    if user is None:
        raise NotFound("User", str(user_id))
    check_version(expected_version, user.version)
    return user


def update_user(
    *, user_id: str | uuid.UUID, change: DocumentChange, ctx: ChangeContext, expected_version: ExpectedVersion = None
) -> DirectoryUser:
    """Apply `change` to the user's current document (a copy) and save the result.

    user.updated / user.deactivated / user.reactivated follow from what changed; nothing changes
    (no event, same version) when the new document equals the old one."""

    def write() -> DirectoryUser:
        with change_transaction():
            user = _locked_user(user_id, expected_version)
            new_document = stored_document(change(dict(user.resource)))
            return _save_change(user, new_document, ctx)

    return unique_values_guard(write, "userName")


def deactivate_user(
    *, user_id: str | uuid.UUID, ctx: ChangeContext, expected_version: ExpectedVersion = None
) -> DirectoryUser:
    """Take the user's access away (user.deactivated, which starts offboarding); a no-op if already inactive."""
    return update_user(user_id=user_id, change=lambda doc: {**doc, "active": False}, ctx=ctx, expected_version=expected_version)


def reactivate_user(
    *, user_id: str | uuid.UUID, ctx: ChangeContext, expected_version: ExpectedVersion = None
) -> DirectoryUser:
    """Give a deactivated user access again (user.reactivated); a no-op if already active."""
    return update_user(user_id=user_id, change=lambda doc: {**doc, "active": True}, ctx=ctx, expected_version=expected_version)


def remap_user_fields(*, user_id: uuid.UUID, mapping: Mapping[str, str], actor: Actor) -> int:
    """Re-apply a (changed) attribute mapping to one user: 1 and a user.updated event if a field changed.

    The SCIM document is unchanged, so its version and lastModified stay (ETags follow the document)."""
    user = DirectoryUser.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        return 0
    changed_fields = _apply_app_fields(user, map_user(user.resource, mapping))
    if not changed_fields:
        return 0
    user.save(update_fields=[*(f.column for f in APP_FIELDS if f.column), "extra_fields"])
    payload = {"user": user_payload(user), "changed": [], "changed_fields": changed_fields, "cause": "attribute_mapping"}
    append_events([NewEvent(EventType.USER_UPDATED, "User", str(user.id), payload)], actor=actor)
    return 1


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


def delete_user(*, user_id: str | uuid.UUID, ctx: ChangeContext, expected_version: ExpectedVersion = None) -> None:
    """Remove the user and its memberships (user.deleted, which starts offboarding)."""
    with change_transaction():
        user = _locked_user(user_id, expected_version)
        statement = _delete_user_sql()
        if statement is None:
            groups = [str(g) for g in Membership.objects.filter(user_id=user.pk).values_list("group_id", flat=True)]
            user.delete()
        else:
            with connection.cursor() as cursor:
                cursor.execute(statement, {"id": user.pk})
                groups = [str(row[0]) for row in cursor.fetchall()]
        payload = {"user": user_payload(user), "groups": groups}
        append_events([NewEvent(EventType.USER_DELETED, "User", str(user.pk), payload)], actor=ctx.actor)
