"""ET/UTC helpers: DST-correct conversions and clear errors."""

from __future__ import annotations

import pytest

from vacuum_pressure.errors import VPError
from vacuum_pressure.timeutil import (
    et_to_ns,
    format_et,
    session_window_ns,
    utc_day_ns,
    warmup_bounds_ns,
)


def test_et_to_ns_is_dst_correct() -> None:
    # Winter: ET = UTC-5. 2026-02-06 09:30 ET = 14:30 UTC.
    assert et_to_ns("2026-02-06", "09:30") == 1770388200 * 10**9
    # Summer: ET = UTC-4. 2025-07-17 09:30 ET = 13:30 UTC.
    assert et_to_ns("2025-07-17", "09:30") == 1752759000 * 10**9
    # The golden capture's start: 2023-12-25 18:00 ET.
    assert et_to_ns("2023-12-25", "18:00:00") == 1703545200 * 10**9


def test_warmup_is_thirty_minutes_before_start_across_dst_change() -> None:
    # 2026-03-08 is the spring-forward day (02:00 -> 03:00 ET).
    warm, start = warmup_bounds_ns("2026-03-08", "03:15")
    assert start - warm == 30 * 60 * 10**9
    assert format_et(warm) == "2026-03-08 01:45:00.000 ET"


def test_session_windows() -> None:
    start, end = utc_day_ns("2023-12-25")
    assert (start, end) == (1703462400 * 10**9, 1703548800 * 10**9)
    assert session_window_ns("2023-12-25", "future_mbo") == (start, end)
    eq_start, eq_end = session_window_ns("2025-07-17", "equity_mbo")
    assert format_et(eq_start) == "2025-07-17 02:00:00.000 ET"
    assert format_et(eq_end) == "2025-07-17 16:00:00.000 ET"


@pytest.mark.parametrize(
    ("dt", "clock", "message"),
    [
        ("2026-2-6", "09:00", r"date '2026-2-6' is invalid: expected YYYY-MM-DD"),
        ("2026-02-30", "09:00", r"date '2026-02-30' is not a calendar date"),
        ("2026-02-06", "9:00", r"start_time '9:00' is invalid"),
        ("2026-02-06", "24:00", r"start_time '24:00' is out of range"),
        ("2026-02-06", "09:60", r"start_time '09:60' is out of range"),
        ("2026-02-06", "../etc", r"start_time '../etc' is invalid"),
    ],
)
def test_bad_inputs_are_named(dt: str, clock: str, message: str) -> None:
    with pytest.raises(VPError, match=message):
        warmup_bounds_ns(dt, clock)
