"""Template filters of the design system."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from provisioning.selectors import unread_notification_count
from scim.paths import option

register = template.Library()


@register.filter
def ago(value: datetime | None) -> str:
    """ "just now" under a minute, else "5 minutes ago" (timesince's largest unit)."""
    if value is None:
        return ""
    if (timezone.now() - value).total_seconds() < 60:
        return "just now"
    return f"{timesince(value).split(',')[0]} ago"


@register.filter
def get_item(mapping: Mapping[str, Any] | None, key: str) -> Any:
    """mapping[key] in a template (field errors keyed by a field name that has dots in it; ids as text)."""
    mapping = mapping or {}
    return mapping[key] if key in mapping else mapping.get(str(key))


@register.filter
def field_value(values: Iterable[Any] | None, key: str) -> Any:
    """The entry of a list of FieldValue (or similar, with `.key`) whose key is `key`."""
    return next((v for v in values or () if getattr(v, "key", None) == key), None)


@register.filter
def path_label(path: str) -> str:
    """A SCIM path as the mapping screen shows it ("department (enterprise)")."""
    return option(path).label if path else ""


@register.filter
def counted(number: int | None, noun: str) -> str:
    """2|counted:"change" -> "2 changes"; "person,people" gives an irregular plural."""
    singular, _, plural = noun.partition(",")
    n = int(number or 0)
    return f"{n:,} {singular if n == 1 else (plural or singular + 's')}"


@register.filter
def seat_delta(row: Any) -> int:
    """Seats a role gains (+) or loses (-) with the proposed mappings."""
    return int(row.proposed) - int(row.now)


@register.filter
def status_tone(status: int | str | None) -> str:
    """The badge tone of an HTTP status: 2xx ok, 401/403 and 5xx error, other 4xx warning."""
    try:
        code = int(status or 0)
    except (TypeError, ValueError):
        return ""
    if 200 <= code < 300:
        return "ok"
    if code in (401, 403) or code >= 500:
        return "error"
    return "warning" if code >= 400 else ""


@register.simple_tag(takes_context=True)
def portal_unread_count(context: template.Context) -> int:
    """Unread notifications of the tenant whose schema the portal view activated (one query a request)."""
    request = context.get("request")
    cached = getattr(request, "_rollcall_unread", None)
    if cached is None:
        cached = unread_notification_count()
        if request is not None:
            request._rollcall_unread = cached
    return int(cached)


@register.filter
def number(value: int | float | None) -> str:
    """12345 -> "12,345"."""
    if value is None:
        return "0"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


@register.filter
def billed_total(seats: Iterable[Any]) -> int:
    """Billed seats across roles (SeatCount rows)."""
    return sum(s.seats for s in seats if s.billable)


@register.filter
def pretty_json(value: Any) -> str:
    """A JSON value indented for a <pre> (autoescaped by the template like any string)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@register.filter
def quirk_label(name: str) -> str:
    """"op_capitalised" -> "Op capitalised" (the full sentence is scim.quirks.describe)."""
    text = str(name or "").replace("_", " ")
    return text[:1].upper() + text[1:]


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@register.filter
def short_ids(text: str) -> str:
    """Paths stay readable: every UUID in them shortened to its first 8 characters and an ellipsis."""
    return _UUID.sub(lambda m: m.group(0)[:8] + "…", str(text or ""))
