"""The attribute-mapping screen's data: the path options per field and the live preview of payloads.

Reads only: the connection's received payloads (request log, redacted), the tenant's mapping
(directory.attribute_mappings) and the SCIM schemas (scim.paths). `map_user` maps each payload
with the current and with the proposed choices, so the admin sees what would change before saving.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from directory.attribute_mappings import MappedField
from directory.mapping import map_user
from scim.paths import PathOption, observed_paths, option, schema_paths
from scim.schema import ENTERPRISE_USER_URN, USER_URN
from scim_api.selectors import ReceivedPayload, received_user_payloads

PREVIEW_PAYLOADS = 5
PATH_SAMPLE = 50  # recent User writes read to learn which paths this connection's IdP sends
GROUP_LABELS = {
    "seen": "Seen in {idp}'s payloads",
    "core": "Core user schema",
    "enterprise": "Enterprise extension",
    "extension": "Other extensions",
}
_STRING_BOOLEAN = re.compile(r"(: )(&quot;(?:True|False|true|false)&quot;)")

# Shown when the connection has not sent a user yet, so the preview is never empty.
SAMPLE_PAYLOAD: dict[str, Any] = {
    "schemas": [USER_URN, ENTERPRISE_USER_URN],
    "userName": "avery.example@yourcompany.example",
    "name": {"givenName": "Avery", "familyName": "Example"},
    "displayName": "Avery Example",
    "title": "Solutions engineer",
    "emails": [{"value": "avery.example@yourcompany.example", "type": "work", "primary": True}],
    "phoneNumbers": [{"value": "+44 20 7946 0000", "type": "work"}],
    "locale": "en-GB",
    "active": True,
    ENTERPRISE_USER_URN: {
        "department": "Sales",
        "employeeNumber": "10042",
        "costCenter": "CC-310",
        "manager": {"value": "4b1c2a9e-0000-4000-8000-000000000001"},
    },
}


@dataclass(frozen=True)
class OptionGroup:
    label: str
    options: list[PathOption]


def path_options(connection_id: str, idp_name: str, fields: Sequence[MappedField]) -> list[OptionGroup]:
    """The drop-down's groups: paths seen on this connection first, then the schemas' paths."""
    resources = received_user_payloads(connection_id, limit=PATH_SAMPLE)
    patches = received_user_payloads(connection_id, limit=PATH_SAMPLE, methods=("PATCH",))
    seen = observed_paths([p.body for p in resources], [p.body for p in patches])
    lowered_seen = {s.lower() for s in seen}
    groups = [OptionGroup(GROUP_LABELS["seen"].format(idp=idp_name), [option(p) for p in seen])] if seen else []
    rest: dict[str, list[PathOption]] = {"core": [], "enterprise": [], "extension": []}
    known = [*schema_paths(), *(f.path for f in fields), *(f.default for f in fields)]
    for path in dict.fromkeys(p for p in known if p):
        if path.lower() not in lowered_seen:
            opt = option(path)
            rest[opt.group].append(opt)
    groups += [OptionGroup(GROUP_LABELS[k], v) for k, v in rest.items() if v]
    return groups


@dataclass(frozen=True)
class FieldValue:
    key: str
    label: str
    value: str
    before: str
    required: bool
    path: str

    @property
    def changed(self) -> bool:
        return self.value != self.before

    @property
    def missing(self) -> bool:
        return self.required and not self.value


@dataclass(frozen=True)
class PayloadPreview:
    title: str
    method: str
    received_at: datetime | None
    payload_html: SafeString
    string_booleans: list[str]
    fields: list[FieldValue]
    sample: bool = False

    @property
    def missing(self) -> int:
        return sum(1 for f in self.fields if f.missing)

    @property
    def changes(self) -> int:
        return sum(1 for f in self.fields if f.changed)


def string_booleans(payload: Any, prefix: str = "") -> list[str]:
    """Where a payload sends a boolean as a string ("active": "False"), as attribute paths."""
    found: list[str] = []
    if isinstance(payload, Mapping):
        for key, value in payload.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, str) and value.lower() in {"true", "false"}:
                found.append(path)
            else:
                found.extend(string_booleans(value, path))
    elif isinstance(payload, list):
        for index, value in enumerate(payload):
            found.extend(string_booleans(value, f"{prefix}[{index}]"))
    return found


def payload_html(payload: Any) -> SafeString:
    """The payload pretty-printed and escaped, string booleans marked (they are quirks worth seeing)."""
    text = escape(json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=False))
    return mark_safe(_STRING_BOOLEAN.sub(r'\1<mark class="json-flag">\2</mark>', text))


def _preview(
    payload: ReceivedPayload | None, body: Mapping[str, Any], current: Mapping[str, str], proposed: Mapping[str, str],
    fields: Sequence[MappedField],
) -> PayloadPreview:
    before = map_user(body, current)
    after = map_user(body, proposed)
    values = [
        FieldValue(f.key, f.field.label, after.get(f.key, ""), before.get(f.key, ""), f.field.required, proposed.get(f.key, ""))
        for f in fields
    ]
    title = str(body.get("userName") or body.get("displayName") or (payload.resource_id if payload else "") or "User")
    return PayloadPreview(
        title=title,
        method=payload.method if payload else "",
        received_at=payload.received_at if payload else None,
        payload_html=payload_html(body),
        string_booleans=string_booleans(body),
        fields=values,
        sample=payload is None,
    )


def payload_previews(
    connection_id: str, *, current: Mapping[str, str], proposed: Mapping[str, str], fields: Sequence[MappedField]
) -> list[PayloadPreview]:
    """The last PREVIEW_PAYLOADS users the connection received, mapped both ways; a sample when none."""
    newest: dict[str, ReceivedPayload] = {}
    for row in received_user_payloads(connection_id, limit=PREVIEW_PAYLOADS * 4):
        newest.setdefault(row.resource_id or str(row.request_id), row)  # one payload per user, the newest
    received = list(newest.values())[:PREVIEW_PAYLOADS]
    if not received:
        return [_preview(None, SAMPLE_PAYLOAD, current, proposed, fields)]
    return [_preview(p, p.body, current, proposed, fields) for p in received]
