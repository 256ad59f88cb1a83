"""How every rollcall_* command prints: one JSON object with --json (the automation contract),
else the same keys as readable text (lists as aligned tables)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def table(rows: Sequence[Mapping[str, Any]], *, empty: str) -> str:
    if not rows:
        return empty
    columns = list(rows[0])
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def render(result: Mapping[str, Any], *, as_json: bool) -> str:
    if as_json:
        return json.dumps(result, default=_json_default)
    parts = []
    for key, value in result.items():
        if isinstance(value, list) and (not value or isinstance(value[0], Mapping)):
            parts.append(table(value, empty=f"(no {key.replace('_', ' ')})"))
        else:
            parts.append(f"{key}: {_cell(value)}")
    return "\n".join(parts)


def _json_default(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
