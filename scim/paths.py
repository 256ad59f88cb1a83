"""SCIM attribute paths a User payload carries, and the paths the User schemas define. Pure.

The attribute-mapping screen offers these: first the paths seen in a connection's own payloads
(core attributes, the enterprise extension, any other extension URN the IdP sends), then every
path the schemas define. Paths are written the way `directory.mapping.read_path` reads them:
`title`, `name.givenName`, `emails[type eq "work"].value`, `urn:...:enterprise:2.0:User:department`,
`urn:...:enterprise:2.0:User:manager.value`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scim.schema import ENTERPRISE_USER_SCHEMA, ENTERPRISE_USER_URN, USER_SCHEMA, USER_URN, Attribute

# Never a source for an app field: protocol identities the server owns, secrets, memberships.
NOT_MAPPABLE = frozenset({"id", "meta", "schemas", "password", "groups", "members", "active"})
# Defined by RFC 7643 but no app field is ever filled from them: left out of the schema list.
NOT_OFFERED = frozenset({"photos", "ims", "x509certificates"})
PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass(frozen=True)
class PathOption:
    path: str
    group: str  # "core" | "enterprise" | "extension"
    label: str  # short human form: "department (enterprise)"

    @property
    def kept(self) -> bool:
        """Whether a stored user can hold a value at this path (see `is_kept`)."""
        return is_kept(self.path)


def is_kept(path: str) -> bool:
    """Rollcall stores the core User schema and the enterprise extension; attributes of other
    extension URNs are accepted on the wire but not kept, so no field can be filled from them."""
    return _group_of(path) != "extension"


def _group_of(path: str) -> str:
    lowered = path.lower()
    if lowered.startswith(ENTERPRISE_USER_URN.lower() + ":"):
        return "enterprise"
    if lowered.startswith("urn:"):
        return "extension"
    return "core"


def _label(path: str) -> str:
    group = _group_of(path)
    if group == "enterprise":
        return f"{path[len(ENTERPRISE_USER_URN) + 1 :]} (enterprise)"
    if group == "extension":
        urn, _, attr = path.rpartition(":")
        return f"{attr} ({_extension_name(urn)} extension)"
    return path


def _extension_name(urn: str) -> str:
    """"urn:ietf:params:scim:schemas:extension:acme:2.0:User" -> "acme"."""
    parts = [p for p in urn.split(":") if p and p.lower() != "user" and not p[0].isdigit()]
    if "extension" in parts:
        after = parts[parts.index("extension") + 1 :]
        if after:
            return after[0]
    return parts[-1] if parts else urn


def option(path: str) -> PathOption:
    return PathOption(path=path, group=_group_of(path), label=_label(path))


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) and value != ""


def _type_of(element: Mapping[str, Any]) -> str:
    raw = element.get("type")
    return raw if isinstance(raw, str) and raw and '"' not in raw else ""


def _paths_of(prefix: str, key: str, value: Any, out: list[str]) -> None:
    name = f"{prefix}{key}"
    if _is_scalar(value):
        out.append(name)
    elif isinstance(value, Mapping):
        for sub, sub_value in value.items():
            if _is_scalar(sub_value):
                out.append(f"{name}.{sub}")
    elif isinstance(value, list):
        dicts = [v for v in value if isinstance(v, Mapping)]
        if any(_is_scalar(v.get("value")) for v in dicts) or any(_is_scalar(v) for v in value):
            out.append(name)  # the primary (or first) value
        for element in dicts:
            kind = _type_of(element)
            if not kind:
                continue
            for sub, sub_value in element.items():
                if sub in {"type", "primary"} or not _is_scalar(sub_value):
                    continue
                out.append(f'{name}[type eq "{kind}"].{sub}')


def resource_paths(resource: Any) -> list[str]:
    """The paths with a value in one User resource (POST/PUT body), in document order, no duplicates."""
    if not isinstance(resource, Mapping):
        return []
    out: list[str] = []
    for key, value in resource.items():
        if not isinstance(key, str) or key.lower() in NOT_MAPPABLE:
            continue
        if key.lower().startswith("urn:") and isinstance(value, Mapping):
            if key.lower() == USER_URN.lower():
                out.extend(resource_paths(value))
                continue
            for sub, sub_value in value.items():
                if isinstance(sub, str) and sub.lower() not in NOT_MAPPABLE:
                    _paths_of(f"{key}:", sub, sub_value, out)
            continue
        _paths_of("", key, value, out)
    return list(dict.fromkeys(out))


def patch_paths(body: Any) -> list[str]:
    """The paths a PATCH request sets: each operation's path, or the paths inside a pathless value."""
    if not isinstance(body, Mapping):
        return []
    operations = body.get("Operations") or body.get("operations") or []
    out: list[str] = []
    for op in operations if isinstance(operations, list) else []:
        if not isinstance(op, Mapping) or str(op.get("op", "")).lower() == "remove":
            continue
        path, value = op.get("path"), op.get("value")
        if isinstance(path, str) and path:
            head = path.split("[", 1)[0].split(".", 1)[0].rsplit(":", 1)[-1].lower()
            if head in NOT_MAPPABLE:
                continue
            if isinstance(value, Mapping) and "[" not in path:
                out.extend(f"{path}.{sub}" for sub, v in value.items() if _is_scalar(v))
            elif isinstance(value, list):
                out.extend(resource_paths({path: value}))
            else:
                out.append(path)
        else:
            out.extend(resource_paths(value))
    return list(dict.fromkeys(out))


def observed_paths(resources: Iterable[Any] = (), patches: Iterable[Any] = ()) -> list[str]:
    """Paths seen across payloads, the most frequent first (ties: first seen first)."""
    counts: Counter[str] = Counter()
    order: dict[str, int] = {}
    for paths in [*(resource_paths(r) for r in resources), *(patch_paths(p) for p in patches)]:
        for path in paths:
            counts[path] += 1
            order.setdefault(path, len(order))
    return sorted(counts, key=lambda p: (-counts[p], order[p]))


def _schema_paths(attributes: Iterable[Attribute], prefix: str) -> list[str]:
    out: list[str] = []
    for attribute in attributes:
        lowered = attribute.name.lower()
        if lowered in NOT_MAPPABLE or lowered in NOT_OFFERED or attribute.mutability == "writeOnly":
            continue
        name = f"{prefix}{attribute.name}"
        if attribute.multi_valued and attribute.type == "complex":
            kinds = next((s.canonical_values for s in attribute.sub_attributes if s.name == "type"), ())
            subs = [s.name for s in attribute.sub_attributes if s.name not in {"type", "primary", "display"}]
            if "value" in subs:
                out.append(name)
                out.extend(f'{name}[type eq "{kind}"].value' for kind in kinds[:2])
            else:  # addresses: no single value, one path per component of the work address
                out.extend(f'{name}[type eq "{kinds[0]}"].{sub}' for sub in subs if kinds)
        elif attribute.type == "complex":
            out.extend(
                f"{name}.{s.name}" for s in attribute.sub_attributes if s.type != "reference" and s.name != "$ref"
            )
        else:
            out.append(name)
    return out


def schema_paths() -> list[str]:
    """Every path the core User schema and the enterprise extension define (mappable ones)."""
    return _schema_paths(USER_SCHEMA.attributes, "") + _schema_paths(
        ENTERPRISE_USER_SCHEMA.attributes, f"{ENTERPRISE_USER_URN}:"
    )
