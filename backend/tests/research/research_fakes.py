"""Hand-built serve frames and capture directories for the research tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from vacuum_pressure.pipeline.frames import WIRE_FLOAT_FIELDS, BinHeader, ServeBin
from vacuum_pressure.research.capture import capture_window, write_capture

DT = "2026-02-06"
BIN_NS = 100_000_000
TICK_INT = 250_000_000  # 0.25 dollars in price_int units
HORIZONS_MS = (100, 200, 300, 400)
"""The reference system's capture of ESH4 2023-12-25 18:00-18:05 ET (shared data)."""


def make_frame(
    seq: int,
    ts_ns: int,
    *,
    radius: int = 3,
    mid: float = 100.0,
    book_valid: bool = True,
    pressure: Sequence[float] | None = None,
    vacuum: Sequence[float] | None = None,
    score: Sequence[float] | None = None,
    fill: float = 0.0,
) -> ServeBin:
    """One frame with ``2*radius+1`` rows; every float field is ``seq + row/100`` unless given."""
    rows = 2 * radius + 1
    k = np.arange(-radius, radius + 1, dtype=np.int32)
    fields = np.zeros((len(WIRE_FLOAT_FIELDS), rows))
    fields[:] = seq + np.arange(rows) / 100.0 + fill
    if pressure is not None:
        fields[WIRE_FLOAT_FIELDS.index("pressure_variant")] = pressure
    if vacuum is not None:
        fields[WIRE_FLOAT_FIELDS.index("vacuum_variant")] = vacuum
    spot = round(mid / 0.25) * TICK_INT if book_valid else 0
    header = BinHeader(
        bin_seq=seq,
        bin_start_ns=ts_ns - BIN_NS,
        bin_end_ns=ts_ns,
        bin_event_count=seq % 7,
        event_id=1000 + seq,
        mid_price=mid if book_valid else 0.0,
        spot_ref_price_int=spot,
        best_bid_price_int=spot - TICK_INT // 2 if book_valid else 0,
        best_ask_price_int=spot + TICK_INT // 2 if book_valid else 0,
        book_valid=book_valid,
    )
    sc = np.zeros(rows) if score is None else np.asarray(score, dtype=np.float64)
    state = np.where(sc >= 0.15, 1, np.where(sc <= -0.15, -1, 0)).astype(np.int8)
    proj = np.tile(sc, (len(HORIZONS_MS), 1)) * 0.5
    return ServeBin(
        header, k, fields, sc, state, np.full(rows, 1000 + seq, np.int64), proj, HORIZONS_MS
    )


def frames_from(start_ns: int, n: int, **kw: object) -> Iterator[ServeBin]:
    """``n`` consecutive frames whose first bin ends at ``start_ns``."""
    for i in range(n):
        yield make_frame(i, start_ns + i * BIN_NS, **kw)  # type: ignore[arg-type]


def write_fake_capture(
    out: Path, frames: Sequence[ServeBin], start_et: str = "09:30:00", end_et: str = "10:30:00"
) -> Path:
    """A capture directory holding ``frames`` (all must lie in the window)."""
    window = capture_window(DT, start_et, end_et)
    manifest = {
        "product_type": "future_mbo",
        "symbol": "MNQH6",
        "dt": DT,
        "config_version": "test",
        "cell_width_ms": 100,
        "grid_radius_ticks": int(frames[0].k[-1]),
        "tick_size": 0.25,
        "tick_int": TICK_INT,
        "projection_horizons_bins": [1, 2, 3, 4],
        "projection_horizons_ms": list(HORIZONS_MS),
        "capture_start_ns": window.start_ns,
        "capture_end_ns": window.end_ns,
    }
    write_capture(frames, out, window, manifest, HORIZONS_MS)
    return out
