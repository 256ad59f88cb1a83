"""portal.console_charts: rollup rows in, SVG geometry out (pure; no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal import console_charts as charts

END = datetime(2026, 12, 1, 15, 20, tzinfo=UTC)
HOUR = END.replace(minute=0)


@pytest.mark.parametrize(("value", "ceiling"), [(0, 1), (0.3, 0.5), (1, 1), (7, 10), (11, 20), (21, 25), (26, 50), (4000, 5000)])
def test_nice_ceiling_rounds_up_to_a_readable_axis_maximum(value: float, ceiling: float) -> None:
    assert charts.nice_ceiling(value) == pytest.approx(ceiling)


@given(st.floats(min_value=1e-3, max_value=1e9, allow_nan=False))
def test_nice_ceiling_is_never_below_the_value_nor_more_than_2_5_times_it(value: float) -> None:
    top = charts.nice_ceiling(value)
    assert value <= top * (1 + 1e-9) and top <= value * 2.5 * (1 + 1e-9)


def test_hour_slots_end_with_the_current_hour() -> None:
    slots = charts.hour_slots(END, 48)
    assert len(slots) == 48 and slots[-1] == HOUR and slots[0] == HOUR - timedelta(hours=47)


def test_requests_are_stacked_by_status_class_inside_the_plot() -> None:
    chart = charts.requests_chart([charts.HourRequests(HOUR - timedelta(hours=1), 6, 3, 1)], end=END)
    assert not chart.empty
    ok, warn, danger = chart.bars
    assert [b.css_class for b in chart.bars] == ["chart__fill--ok", "chart__fill--warn", "chart__fill--danger"]
    # 2xx sits on the axis, 4xx on top of it, 5xx on top of that; the axis maximum is 10
    assert ok.y + ok.height == pytest.approx(chart.bottom)
    assert warn.y + warn.height == pytest.approx(ok.y) and danger.y + danger.height == pytest.approx(warn.y)
    assert danger.y == pytest.approx(chart.top)
    assert ok.height == pytest.approx(2 * warn.height) and "6 2xx" in ok.title
    assert chart.y_ticks[-1].label == "10" and chart.y_ticks[0].position == pytest.approx(chart.bottom)
    assert all(chart.left <= b.x and b.x + b.width <= chart.right for b in chart.bars)
    assert "10 requests in the last 48 hours, 4 of them errors" in chart.summary


def test_rows_outside_the_window_are_left_out_and_no_rows_is_an_empty_state() -> None:
    old = charts.HourRequests(HOUR - timedelta(hours=60), 5, 0, 0)
    assert charts.requests_chart([old], end=END).empty
    assert charts.requests_chart([], end=END).empty_text == "No SCIM requests in the last 48 hours."
    assert charts.webhook_success_chart([], end=END).empty and charts.event_lag_chart([], end=END).empty
    assert charts.deprovision_chart([], today=END.date()).empty and charts.events_chart([], end=END).empty


def test_x_axis_labels_every_twelve_hours_with_the_date_at_midnight() -> None:
    chart = charts.requests_chart([charts.HourRequests(HOUR, 1)], end=END)
    labels = [t.label for t in chart.x_ticks]
    assert labels == ["30 Nov", "12:00", "01 Dec", "12:00"]


def test_webhook_success_rate_is_a_percentage_with_gaps_where_nothing_was_delivered() -> None:
    rows = [
        charts.HourWebhooks(HOUR - timedelta(hours=3), succeeded=3, failed=1),
        charts.HourWebhooks(HOUR - timedelta(hours=2), succeeded=4),
        charts.HourWebhooks(HOUR, succeeded=0, failed=0, dead=2),
    ]
    chart = charts.webhook_success_chart(rows, end=END)
    assert [d.title.split(": ")[1] for d in chart.dots] == ["delivered 75%", "delivered 100%", "delivered 0%"]
    assert len(chart.lines) == 1 and len(chart.lines[0].points.split()) == 2  # the gap at HOUR-1 breaks the line
    assert chart.y_ticks[-1].label == "100%"
    assert chart.dots[-1].y == pytest.approx(chart.bottom) and chart.dots[1].y == pytest.approx(chart.top)
    assert "Lowest hourly success rate in the last 48 hours: 0%" in chart.summary


def test_deprovision_latency_draws_p50_and_p95_per_day_with_seconds_on_the_axis() -> None:
    today = date(2026, 12, 1)
    rows = [charts.DayLatency(today - timedelta(days=1), 2.0, 8.0), charts.DayLatency(today, 3.0, 90.0)]
    chart = charts.deprovision_chart(rows, today=today)
    assert [item.label for item in chart.legend] == ["p50", "p95"]
    assert len(chart.lines) == 2 and len(chart.dots) == 4
    assert [t.label for t in chart.y_ticks] == ["0 s", "30 s", "1 min", "1.5 min", "2 min"]  # 90 s: up to 2 minutes
    assert chart.x_ticks[-1].label == "01 Dec" and "worst p95 1.5 min" in chart.summary


def test_event_lines_show_appended_and_handled() -> None:
    rows = [charts.HourEvents(HOUR - timedelta(hours=1), appended=10, handled=4, lag_avg_seconds=1.5, lag_max_seconds=30.0)]
    events = charts.events_chart(rows, end=END)
    assert [line.css_class for line in events.lines] == ["chart__line--accent", "chart__line--ok"]
    assert "10 events appended, 4 handled" in events.summary
    lag = charts.event_lag_chart(rows, end=END)
    assert len(lag.dots) == 2 and "Longest lag in the last 48 hours: 30 s" in lag.summary


@pytest.mark.parametrize(("maximum", "labels"), [(10, "0 2 4 6 8 10"), (200, "0 50 100 150 200"), (25, "0 5 10 15 20 25"), (5000, "0 1k 2k 3k 4k 5k")])
def test_y_axis_steps_are_round_numbers(maximum: int, labels: str) -> None:
    chart = charts.requests_chart([charts.HourRequests(HOUR, maximum)], end=END)
    assert " ".join(t.label for t in chart.y_ticks) == labels


@pytest.mark.parametrize(("seconds", "text"), [(0.4, "0.4 s"), (3, "3 s"), (45, "45 s"), (90, "1.5 min"), (120, "2 min"), (7200, "2 h")])
def test_format_seconds(seconds: float, text: str) -> None:
    assert charts.format_seconds(seconds) == text
