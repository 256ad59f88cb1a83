"""The tenant's attribute mapping: which SCIM path fills which app field, with a preview before it applies.

Effective mapping = the common mapping (directory.mapping.COMMON_MAPPING), then the IdP profile's
overrides, then the tenant's own choices (AttributeMapping rows). userName and externalId are protocol
identities, never mapped. Changing the mapping re-maps existing users in batches (`remap_users`), each
changed user getting its user.updated event in the usual outbox.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from directory.admin_audit import audit_admin_change
from directory.errors import InvalidValue
from directory.mapping import APP_FIELDS, COMMON_MAPPING, CUSTOM_FIELD_PREFIX, AppField, app_field, map_user
from directory.models import AttributeMapping, DirectoryUser
from outbox.append import Actor
from scim.errors import ScimError
from scim.filter import parse_patch_path
from scim.idp import get_profile
from tenants.audit import AuditEventType
from tenants.db import tenant_connection

CACHE_SECONDS = 30.0
PREVIEW_SAMPLE = 2000  # users compared exactly by a preview; beyond it the count is an estimate
_cache: dict[tuple[str, str], tuple[float, dict[str, str]]] = {}


def profile_defaults(idp: str) -> dict[str, str]:
    """The common mapping with the IdP profile's overrides (what a tenant gets before choosing)."""
    mapping = dict(COMMON_MAPPING)
    try:
        profile = get_profile(idp)
    except KeyError:
        return mapping
    mapping.update({m.app_field: m.scim_path for m in profile.mapping_overrides})
    return mapping


def _tenant_choices() -> dict[str, str]:
    return dict(AttributeMapping.objects.values_list("app_field", "scim_path"))


def effective_mapping(idp: str) -> dict[str, str]:
    """Tenant choices over the IdP profile's defaults; cached briefly per process and schema."""
    key = (tenant_connection().schema_name, idp)
    hit = _cache.get(key)
    now = time.monotonic()
    if hit and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    mapping = profile_defaults(idp)
    mapping.update({k: v for k, v in _tenant_choices().items() if app_field(k) is not None})
    _cache[key] = (now, mapping)
    return mapping


@dataclass(frozen=True)
class MappedField:
    """One row of the mapping screen: an app field, where it is filled from now, and the IdP's default."""

    field: AppField
    path: str
    default: str

    @property
    def key(self) -> str:
        return self.field.key

    @property
    def custom(self) -> bool:
        return self.field.key.startswith(CUSTOM_FIELD_PREFIX)

    @property
    def is_default(self) -> bool:
        return self.path == self.default


def mapped_fields(idp: str) -> list[MappedField]:
    """The builtin app fields, then the tenant's custom fields (by name), with their effective paths."""
    defaults = profile_defaults(idp)
    mapping = effective_mapping(idp)
    rows = [MappedField(f, mapping.get(f.key, ""), defaults.get(f.key, "")) for f in APP_FIELDS]
    for key in sorted(k for k in mapping if k.startswith(CUSTOM_FIELD_PREFIX)):
        spec = app_field(key)
        if spec is not None:
            rows.append(MappedField(spec, mapping[key], ""))
    return rows


def forget_mapping() -> None:
    """Drop cached mappings of the current schema (after the tenant edits its mapping)."""
    for key in [k for k in _cache if k[0] == tenant_connection().schema_name]:
        del _cache[key]


def validate_mapping(mapping: Mapping[str, str]) -> dict[str, str]:
    """Check app field keys and SCIM paths; an empty path means "leave this field empty"."""
    checked: dict[str, str] = {}
    for key, path in mapping.items():
        if app_field(key) is None:
            raise InvalidValue(f"unknown app field {key!r}", field=key)
        path = (path or "").strip()
        if path:
            try:
                parse_patch_path(path)
            except ScimError as exc:
                raise InvalidValue(f"{path!r} is not a SCIM attribute path: {exc.detail}", field=key) from None
        checked[key] = path
    return checked


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class UserFieldDiff:
    user_id: uuid.UUID
    user_name: str
    before: dict[str, str]
    after: dict[str, str]


@dataclass(frozen=True)
class MappingPreview:
    """What a mapping change does: the fields whose source changes and the users whose values change."""

    changes: list[FieldChange]
    users_total: int
    users_compared: int
    users_changing: int  # among the compared users
    samples: list[UserFieldDiff]

    @property
    def exact(self) -> bool:
        return self.users_compared == self.users_total

    @property
    def estimated_users_changing(self) -> int:
        if self.exact or not self.users_compared:
            return self.users_changing
        return round(self.users_changing * self.users_total / self.users_compared)


def _values(fields: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in fields.items() if v}


def _current_fields(user: DirectoryUser, mapping: Mapping[str, str]) -> dict[str, str]:
    return map_user(user.resource, mapping)


def preview_attribute_mapping(*, idp: str, mapping: Mapping[str, str], samples: int = 5) -> MappingPreview:
    """What `set_attribute_mapping(mapping)` would change, computed on the stored users; writes nothing."""
    wanted = validate_mapping(mapping)
    current = effective_mapping(idp)
    proposed = {**current, **wanted}
    changes = [
        FieldChange(key, current.get(key, ""), proposed.get(key, ""))
        for key in sorted(set(current) | set(proposed))
        if current.get(key, "") != proposed.get(key, "")
    ]
    total = DirectoryUser.objects.count()
    compared = 0
    changing = 0
    diffs: list[UserFieldDiff] = []
    if changes:
        rows = DirectoryUser.objects.order_by("created", "id").only("id", "user_name", "resource")[:PREVIEW_SAMPLE]
        for user in rows:
            compared += 1
            before, after = _current_fields(user, current), _current_fields(user, proposed)
            if _values(before) != _values(after):  # a new field that stays empty changes nothing
                changing += 1
                if len(diffs) < samples:
                    diffs.append(UserFieldDiff(user.id, user.user_name, before, after))
    else:
        compared = total
    return MappingPreview(changes, total, compared, changing, diffs)


def set_attribute_mapping(*, idp: str, mapping: Mapping[str, str], actor: Actor) -> MappingPreview:
    """Save the tenant's choices for the given fields; returns the preview of what it changed.

    Existing users are re-mapped afterwards by `remap_users` (in the worker, batch by batch)."""
    preview = preview_attribute_mapping(idp=idp, mapping=mapping)
    wanted = validate_mapping(mapping)
    defaults = profile_defaults(idp)
    now = timezone.now()
    with transaction.atomic():
        for key, path in wanted.items():
            if path == defaults.get(key, ""):
                AttributeMapping.objects.filter(app_field=key).delete()  # back to the default
            else:
                AttributeMapping.objects.update_or_create(app_field=key, defaults={"scim_path": path, "updated": now})
        if preview.changes:
            audit_admin_change(
                actor,
                AuditEventType.ATTRIBUTE_MAPPING_CHANGED,
                target_type="attribute_mapping",
                target_id=idp,
                data={"changes": [{"field": c.field, "before": c.before, "after": c.after} for c in preview.changes]},
            )
    forget_mapping()
    return preview


@dataclass(frozen=True)
class RemapProgress:
    examined: int
    changed: int
    last_id: uuid.UUID | None  # pass as `after_id` to continue; None when done


def remap_users(*, idp: str, actor: Actor, after_id: uuid.UUID | None = None, limit: int = 500) -> RemapProgress:
    """Re-apply the effective mapping to the next `limit` users (in id order) after `after_id`.

    Each user whose app fields change is saved with a user.updated event (one transaction per batch)."""
    from directory.users import remap_user_fields

    forget_mapping()
    mapping = effective_mapping(idp)
    qs = DirectoryUser.objects.order_by("id")
    if after_id is not None:
        qs = qs.filter(id__gt=after_id)
    ids = list(qs.values_list("id", flat=True)[:limit])
    changed = 0
    with transaction.atomic():
        for user_id in ids:
            changed += remap_user_fields(user_id=user_id, mapping=mapping, actor=actor)
    last = ids[-1] if len(ids) == limit else None
    return RemapProgress(examined=len(ids), changed=changed, last_id=last)
