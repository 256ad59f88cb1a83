"""Server-rendered charts for the console's tenant overview: data in, SVG geometry out.

Pure: no Django, no database. The view reads a tenant's TenantHealthHour/TenantHealthDay rows into
the point dataclasses below; these functions lay them out in a fixed coordinate space (the SVG's
viewBox), and templates/console/tenants/_chart.html draws the result. Colours are CSS classes (the
stylesheet maps them to the theme's variables), so light and dark mode both read well.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

WIDTH = 640
HEIGHT = 200
LEFT = 48  # room for the y-axis labels
RIGHT = 12
TOP = 12
BOTTOM = 28  # room for the x-axis labels
Y_TICKS = 4


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class HourRequests:
    hour: datetime
    status_2xx: int = 0
    status_4xx: int = 0
    status_5xx: int = 0


@dataclass(frozen=True)
class HourEvents:
    hour: datetime
    appended: int = 0
    handled: int = 0
    lag_avg_seconds: float | None = None
    lag_max_seconds: float | None = None


@dataclass(frozen=True)
class HourWebhooks:
    hour: datetime
    succeeded: int = 0
    failed: int = 0
    dead: int = 0


@dataclass(frozen=True)
class DayLatency:
    day: date
    p50_seconds: float | None = None
    p95_seconds: float | None = None


# --------------------------------------------------------------------------- output


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css_class: str
    title: str


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    css_class: str
    title: str


@dataclass(frozen=True)
class Polyline:
    points: str  # "x,y x,y ..." for <polyline points>
    css_class: str


@dataclass(frozen=True)
class Tick:
    position: float  # x for the x axis, y for the y axis
    label: str


@dataclass(frozen=True)
class LegendItem:
    label: str
    css_class: str


@dataclass(frozen=True)
class Chart:
    """Everything a template needs to draw one chart; `empty` means: show the empty state instead."""

    id: str
    title: str
    summary: str  # one sentence for screen readers (the SVG's <desc>)
    y_label: str
    empty: bool
    empty_text: str = ""
    width: int = WIDTH
    height: int = HEIGHT
    left: float = LEFT
    right: float = WIDTH - RIGHT
    top: float = TOP
    bottom: float = HEIGHT - BOTTOM
    bars: list[Rect] = field(default_factory=list)
    lines: list[Polyline] = field(default_factory=list)
    dots: list[Dot] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    legend: list[LegendItem] = field(default_factory=list)


# --------------------------------------------------------------------------- scales


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^n at or above `value` (an axis maximum people can read)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        candidate = step * 10**exponent
        if candidate >= value * (1 - 1e-9):
            return candidate
    return 10.0 ** (exponent + 1)  # pragma: no cover (10 x 10^n always fits)


def _format_number(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def format_seconds(seconds: float) -> str:
    """3.2 -> "3.2 s", 90 -> "1.5 min", 7200 -> "2 h" (axis labels and tooltips)."""
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 and seconds != int(seconds) else f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min".replace(".0 ", " ")
    return f"{seconds / 3600:.1f} h".replace(".0 ", " ")


def _y(value: float, maximum: float) -> float:
    plot = (HEIGHT - BOTTOM) - TOP
    return round((HEIGHT - BOTTOM) - plot * (value / maximum), 2)


def tick_count(maximum: float) -> int:
    """How many intervals split a nice maximum into round steps (10 -> 5 x 2, 20 -> 4 x 5, 25 -> 5 x 5)."""
    mantissa = round(maximum / 10 ** math.floor(math.log10(maximum)), 6) if maximum > 0 else 1.0
    return 4 if mantissa == 2.0 else 5 if mantissa in (1.0, 2.5, 5.0) else Y_TICKS


def nice_seconds_ceiling(value: float) -> float:
    """Like nice_ceiling, in whole-minute or whole-hour steps once the value passes a minute or an hour."""
    if value > 3600:
        return nice_ceiling(value / 3600) * 3600
    if value > 60:
        return nice_ceiling(value / 60) * 60
    return nice_ceiling(value)


def _y_ticks(maximum: float, label: str = "") -> list[Tick]:
    ticks = []
    unit = maximum / 3600 if label == "seconds" and maximum > 3600 else maximum / 60 if label == "seconds" and maximum > 60 else maximum
    intervals = tick_count(unit)
    for i in range(intervals + 1):
        value = maximum * i / intervals
        text = format_seconds(value) if label == "seconds" else (f"{value:g}%" if label == "%" else _format_number(value))
        ticks.append(Tick(_y(value, maximum), text))
    return ticks


def hour_slots(end: datetime, hours: int) -> list[datetime]:
    """The `hours` clock hours (UTC) up to and including the one `end` falls in, oldest first."""
    last = end.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [last - timedelta(hours=hours - 1 - i) for i in range(hours)]


def _slot_x(index: int, count: int) -> tuple[float, float]:
    """Left edge and width of slot `index` of `count` across the plot."""
    width = (WIDTH - RIGHT - LEFT) / count
    return round(LEFT + index * width, 2), width


def _x_ticks_hours(slots: Sequence[datetime], every: int = 12) -> list[Tick]:
    ticks = []
    for i, slot in enumerate(slots):
        if slot.hour % every == 0:
            x, width = _slot_x(i, len(slots))
            label = slot.strftime("%d %b") if slot.hour == 0 else slot.strftime("%H:%M")
            ticks.append(Tick(round(x + width / 2, 2), label))
    return ticks


def _points(values: Sequence[tuple[int, float | None]], count: int, maximum: float) -> list[list[tuple[float, float]]]:
    """Runs of consecutive known values as (x, y) pairs: a gap (None) breaks the line."""
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for index, value in values:
        if value is None:
            if current:
                runs.append(current)
            current = []
            continue
        x, width = _slot_x(index, count)
        current.append((round(x + width / 2, 2), _y(value, maximum)))
    if current:
        runs.append(current)
    return runs


def _polylines(runs: list[list[tuple[float, float]]], css_class: str) -> list[Polyline]:
    return [Polyline(" ".join(f"{x},{y}" for x, y in run), css_class) for run in runs if len(run) > 1]


# --------------------------------------------------------------------------- charts


REQUEST_CLASSES = (
    ("status_2xx", "2xx", "chart__fill--ok"),
    ("status_4xx", "4xx", "chart__fill--warn"),
    ("status_5xx", "5xx", "chart__fill--danger"),
)


def requests_chart(rows: Sequence[HourRequests], *, end: datetime, hours: int = 48) -> Chart:
    """Requests per hour, stacked by status class (2xx at the bottom, then 4xx, then 5xx)."""
    by_hour = {r.hour.astimezone(UTC): r for r in rows}
    slots = hour_slots(end, hours)
    totals = [sum(getattr(by_hour[s], key) for key, _, _ in REQUEST_CLASSES) if s in by_hour else 0 for s in slots]
    grand = sum(totals)
    legend = [LegendItem(label, css) for _, label, css in REQUEST_CLASSES]
    title, y_label = "SCIM requests per hour", "requests"
    if grand == 0:
        return Chart(
            "chart-requests", title, "No SCIM requests in the last 48 hours.", y_label, True,
            empty_text="No SCIM requests in the last 48 hours.", legend=legend,
        )
    maximum = nice_ceiling(max(totals))
    bars = []
    for i, slot in enumerate(slots):
        row = by_hour.get(slot)
        if row is None:
            continue
        x, width = _slot_x(i, len(slots))
        base = 0
        for key, label, css in REQUEST_CLASSES:
            value = getattr(row, key)
            if not value:
                continue
            y_top, y_bottom = _y(base + value, maximum), _y(base, maximum)
            bars.append(
                Rect(round(x + width * 0.1, 2), y_top, round(width * 0.8, 2), round(y_bottom - y_top, 2), css,
                     f"{slot:%d %b %H:00} UTC: {value} {label}")
            )
            base += value
    errors = sum(r.status_4xx + r.status_5xx for s, r in by_hour.items() if s in set(slots))
    summary = f"{grand:,} requests in the last {hours} hours, {errors:,} of them errors (4xx or 5xx); busiest hour {max(totals):,}."
    return Chart(
        "chart-requests", title, summary, y_label, False, bars=bars,
        x_ticks=_x_ticks_hours(slots), y_ticks=_y_ticks(maximum), legend=legend,
    )


def _line_chart(
    *,
    id: str,
    title: str,
    y_label: str,
    empty_text: str,
    series: Sequence[tuple[str, str, Sequence[float | None]]],  # (label, css class, one value per slot)
    x_ticks: list[Tick],
    unit: str = "",
    fixed_maximum: float | None = None,
    tooltip: Sequence[str] = (),
    summary: str = "",
) -> Chart:
    legend = [LegendItem(label, css) for label, css, _ in series]
    known = [v for _, _, values in series for v in values if v is not None]
    if not known:
        return Chart(id, title, empty_text, y_label, True, empty_text=empty_text, legend=legend)
    maximum = fixed_maximum or (nice_seconds_ceiling(max(known)) if unit == "seconds" else nice_ceiling(max(known)))
    lines: list[Polyline] = []
    dots: list[Dot] = []
    for label, css, values in series:
        count = len(values)
        runs = _points(list(enumerate(values)), count, maximum)
        lines.extend(_polylines(runs, css))
        # A point with no neighbour would be invisible as a line: draw every point as a dot too.
        for index, value in enumerate(values):
            if value is None:
                continue
            x, width = _slot_x(index, count)
            shown = format_seconds(value) if unit == "seconds" else (f"{value:.0f}%" if unit == "%" else f"{value:g}")
            when = tooltip[index] if index < len(tooltip) else ""
            dots.append(Dot(round(x + width / 2, 2), _y(value, maximum), css, f"{when}: {label} {shown}".strip(": ")))
    return Chart(
        id, title, summary or title, y_label, False, lines=lines, dots=dots,
        x_ticks=x_ticks, y_ticks=_y_ticks(maximum, unit), legend=legend,
    )


def deprovision_chart(rows: Sequence[DayLatency], *, today: date, days: int = 14) -> Chart:
    """Deprovision latency per day (UTC): p50 and p95, one point per day that had deprovisions."""
    by_day = {r.day: r for r in rows}
    slots = [today - timedelta(days=days - 1 - i) for i in range(days)]
    p50 = [by_day[d].p50_seconds if d in by_day else None for d in slots]
    p95 = [by_day[d].p95_seconds if d in by_day else None for d in slots]
    ticks = []
    for i, day in enumerate(slots):
        if i % 2 == (days - 1) % 2:  # every other day, ending on today
            x, width = _slot_x(i, days)
            ticks.append(Tick(round(x + width / 2, 2), day.strftime("%d %b")))
    worst = max((v for v in p95 if v is not None), default=None)
    return _line_chart(
        id="chart-deprovision",
        title="Deprovision latency per day",
        y_label="seconds",
        empty_text=f"No deprovisions in the last {days} days.",
        series=[("p50", "chart__line--accent", p50), ("p95", "chart__line--warn", p95)],
        x_ticks=ticks,
        unit="seconds",
        tooltip=[d.strftime("%d %b") for d in slots],
        summary=(
            f"Deprovision latency over the last {days} days; worst p95 {format_seconds(worst)}."
            if worst is not None else ""
        ),
    )


def events_chart(rows: Sequence[HourEvents], *, end: datetime, hours: int = 48) -> Chart:
    """Outbox events appended and handled per hour: the lines part when the pipeline falls behind."""
    by_hour = {r.hour.astimezone(UTC): r for r in rows}
    slots = hour_slots(end, hours)
    appended = [float(by_hour[s].appended) if s in by_hour else 0.0 for s in slots]
    handled = [float(by_hour[s].handled) if s in by_hour else 0.0 for s in slots]
    if not any(appended) and not any(handled):
        appended = handled = [None] * hours  # type: ignore[list-item]
    return _line_chart(
        id="chart-events",
        title="Events appended and handled per hour",
        y_label="events",
        empty_text=f"No outbox events in the last {hours} hours.",
        series=[("appended", "chart__line--accent", appended), ("handled", "chart__line--ok", handled)],
        x_ticks=_x_ticks_hours(slots),
        tooltip=[f"{s:%d %b %H:00}" for s in slots],
        summary=f"{sum(v or 0 for v in appended):,.0f} events appended, {sum(v or 0 for v in handled):,.0f} handled in the last {hours} hours.",
    )


def event_lag_chart(rows: Sequence[HourEvents], *, end: datetime, hours: int = 48) -> Chart:
    """Commit-to-handled lag per hour (average and maximum), where events were handled."""
    by_hour = {r.hour.astimezone(UTC): r for r in rows}
    slots = hour_slots(end, hours)
    avg = [by_hour[s].lag_avg_seconds if s in by_hour else None for s in slots]
    worst = [by_hour[s].lag_max_seconds if s in by_hour else None for s in slots]
    peak = max((v for v in worst if v is not None), default=None)
    return _line_chart(
        id="chart-lag",
        title="Event lag per hour",
        y_label="seconds",
        empty_text=f"No events handled in the last {hours} hours.",
        series=[("average", "chart__line--accent", avg), ("maximum", "chart__line--warn", worst)],
        x_ticks=_x_ticks_hours(slots),
        unit="seconds",
        tooltip=[f"{s:%d %b %H:00}" for s in slots],
        summary=f"Longest lag in the last {hours} hours: {format_seconds(peak)}." if peak is not None else "",
    )


def webhook_success_chart(rows: Sequence[HourWebhooks], *, end: datetime, hours: int = 48) -> Chart:
    """Share of webhook deliveries that succeeded, per hour with deliveries (0-100 %)."""
    by_hour = {r.hour.astimezone(UTC): r for r in rows}
    slots = hour_slots(end, hours)
    rates: list[float | None] = []
    for s in slots:
        row = by_hour.get(s)
        attempts = (row.succeeded + row.failed + row.dead) if row else 0
        rates.append(round(100.0 * row.succeeded / attempts, 1) if row and attempts else None)
    known = [r for r in rates if r is not None]
    return _line_chart(
        id="chart-webhooks",
        title="Webhook success rate per hour",
        y_label="% delivered",
        empty_text=f"No webhook deliveries in the last {hours} hours.",
        series=[("delivered", "chart__line--ok", rates)],
        x_ticks=_x_ticks_hours(slots),
        unit="%",
        fixed_maximum=100.0,
        tooltip=[f"{s:%d %b %H:00}" for s in slots],
        summary=f"Lowest hourly success rate in the last {hours} hours: {min(known):.0f}%." if known else "",
    )
