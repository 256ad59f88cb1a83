"""The seat preview in words: "With these mappings: 14 admins and 312 editors billed, 40 viewers free;
+38 billed seats compared with now." Pure formatting of directory.roles.SeatPreview."""

from __future__ import annotations

from directory.roles import SeatPreview, SeatPreviewRow


def _people(n: int, name: str) -> str:
    noun = name.lower()
    return f"{n:,} {noun if n == 1 else noun + 's'}"


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def seat_sentence(preview: SeatPreview) -> str:
    billed = [_people(r.proposed, r.name) for r in preview.rows if r.billable and r.proposed]
    free = [_people(r.proposed, r.name) for r in preview.rows if not r.billable and r.proposed]
    parts = []
    if billed:
        parts.append(f"{_join(billed)} billed")
    if free:
        parts.append(f"{_join(free)} free")
    holding = ", ".join(parts) if parts else "nobody holds a role"
    delta = preview.billable_proposed - preview.billable_now
    if delta == 0:
        change = "no change in billed seats"
    else:
        change = f"{delta:+,} billed seat{'s' if abs(delta) != 1 else ''} compared with now"
    return f"With these mappings: {holding}; {change}."


def row_delta(row: SeatPreviewRow) -> int:
    return row.proposed - row.now
