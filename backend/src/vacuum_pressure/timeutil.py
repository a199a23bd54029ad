"""ET and UTC time helpers, written once. All instants are int64 nanoseconds since the epoch."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .errors import VPError

ET = ZoneInfo("America/New_York")
UTC = ZoneInfo("UTC")
NS_PER_S = 1_000_000_000

# ASCII digits and \Z: \d takes any Unicode digit, and $ also matches before a final newline.
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_HHMM_RE = re.compile(r"([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?\Z")


def parse_date(dt: str) -> date:
    """Parse ``YYYY-MM-DD``; raise VPError naming the value otherwise."""
    if not isinstance(dt, str) or not _DATE_RE.match(dt):
        raise VPError(f"date {dt!r} is invalid: expected YYYY-MM-DD, e.g. 2026-02-06")
    try:
        return date.fromisoformat(dt)
    except ValueError:
        raise VPError(f"date {dt!r} is not a calendar date: expected YYYY-MM-DD") from None


def parse_clock(value: str, *, name: str = "time", allow_seconds: bool = True) -> time:
    """Parse ``HH:MM`` (or ``HH:MM:SS``) into a time; raise VPError naming ``name`` otherwise."""
    m = _HHMM_RE.match(value) if isinstance(value, str) else None
    accepted = "HH:MM:SS or HH:MM" if allow_seconds else "HH:MM"
    if not m or (m.group(3) is not None and not allow_seconds):
        raise VPError(f"{name} {value!r} is invalid: expected {accepted} (24-hour ET clock)")
    hh, mm, ss = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if hh > 23 or mm > 59 or ss > 59:
        raise VPError(f"{name} {value!r} is out of range: expected {accepted} within 00:00-23:59")
    return time(hh, mm, ss)


def et_to_ns(dt: str, clock: str, *, name: str = "time") -> int:
    """ET wall-clock time on date ``dt`` as UTC epoch nanoseconds (DST-correct)."""
    day = parse_date(dt)
    t = parse_clock(clock, name=name)
    local = datetime.combine(day, t, tzinfo=ET)
    return int(local.timestamp()) * NS_PER_S


def ns_to_et(ts_ns: int) -> datetime:
    """UTC epoch nanoseconds as an aware ET datetime (microsecond precision)."""
    return datetime.fromtimestamp(ts_ns // 1000 / 1e6, tz=UTC).astimezone(ET)


def format_et(ts_ns: int) -> str:
    """``YYYY-MM-DD HH:MM:SS.fff ET`` for logs and reports."""
    return ns_to_et(ts_ns).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " ET"


def utc_day_ns(dt: str) -> tuple[int, int]:
    """``[start, end)`` of the UTC calendar day ``dt`` in ns (the futures session window)."""
    day = parse_date(dt)
    start = int(datetime.combine(day, time(0), tzinfo=UTC).timestamp()) * NS_PER_S
    return start, start + 86_400 * NS_PER_S


def session_window_ns(dt: str, product_type: str) -> tuple[int, int]:
    """Session window of a file: whole UTC day for futures, 02:00-16:00 ET for equities."""
    if product_type == "future_mbo":
        return utc_day_ns(dt)
    return et_to_ns(dt, "02:00"), et_to_ns(dt, "16:00")


def warmup_bounds_ns(dt: str, start_time: str, warmup_minutes: int = 30) -> tuple[int, int]:
    """``(warmup_start_ns, emit_after_ns)`` for a stream starting at ET ``start_time``."""
    emit_after = et_to_ns(dt, start_time, name="start_time")
    start_dt = datetime.fromtimestamp(emit_after / NS_PER_S, tz=UTC)
    warm = start_dt - timedelta(minutes=warmup_minutes)
    return int(warm.timestamp()) * NS_PER_S, emit_after
