"""Serve path (SPEC 7, SPEC 11 items 1-4, 8, 13): book phase, warmup, half-open bins from
emit_after, spot-centred window with zero-filled rows, state export/import."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eventgen import ES_TICK, build_stream, ev, events, random_ops, small_config_raw
from vacuum_pressure.config import build_config
from vacuum_pressure.engine.kernels import FIELD_NAMES
from vacuum_pressure.events import ACTION_ADD, ACTION_CANCEL, ACTION_TRADE, SIDE_ASK, SIDE_BID
from vacuum_pressure.pipeline.frames import WIRE_FLOAT_FIELDS, ServeBin
from vacuum_pressure.pipeline.serve import ServePipeline, iter_serve_bins
from vacuum_pressure.timeutil import et_to_ns

DT = "2026-02-06"
N = 64
R = 5
Y_TICK = 100_000
Y = Y_TICK * ES_TICK
MS = 1_000_000
CONFIG = build_config(small_config_raw(n_absolute_ticks=N, grid_radius_ticks=R))
WIRE_ROWS = [FIELD_NAMES.index(name) for name in WIRE_FLOAT_FIELDS]


def et(clock: str) -> int:
    return et_to_ns(DT, clock)


def book_records() -> list[tuple[int, int, int, int, int, int, int]]:
    """A two-sided book before the warmup start: bid Y, ask Y + 2 ticks (anchor Y + 1 tick)."""
    return [
        ev(et("08:00"), ACTION_ADD, SIDE_BID, Y, 5, 1),
        ev(et("08:00") + 1, ACTION_ADD, SIDE_ASK, Y + 2 * ES_TICK, 4, 2),
    ]


def idx_of(price: int) -> int:
    """Slot of a price once the grid is anchored at Y + 1 tick."""
    return price // ES_TICK - (Y_TICK + 1) + N // 2


def test_bins_start_at_emit_after_and_are_half_open() -> None:
    pipe = ServePipeline(CONFIG, DT, "09:00")
    t0 = et("09:00")
    recs = [
        *book_records(),
        ev(et("08:45"), ACTION_ADD, SIDE_BID, Y, 3, 3),  # warmup
        ev(t0, ACTION_ADD, SIDE_BID, Y - ES_TICK, 1, 4),  # bin 0
        ev(t0 + 100 * MS, ACTION_ADD, SIDE_ASK, Y + 3 * ES_TICK, 1, 5),  # exactly bin 0's end
        ev(t0 + 450 * MS, ACTION_TRADE, SIDE_BID, Y, 1, 0),  # bin 4
    ]
    headers = [b.header for b in iter_serve_bins(pipe, [events(recs)])]
    assert [h.bin_seq for h in headers] == [0, 1, 2, 3, 4]
    assert [h.bin_start_ns for h in headers] == [t0 + k * 100 * MS for k in range(5)]
    assert [h.ts_ns for h in headers] == [t0 + (k + 1) * 100 * MS for k in range(5)]
    assert [h.bin_event_count for h in headers] == [1, 1, 0, 0, 1]
    assert [h.event_id for h in headers] == [4, 5, 5, 5, 6]
    assert pipe.engine.anchor_tick_idx == Y_TICK + 1
    assert headers[0].best_bid_price_int == Y
    assert headers[0].best_ask_price_int == Y + 2 * ES_TICK
    assert headers[1].best_ask_price_int == Y + 2 * ES_TICK
    assert headers[0].spot_ref_price_int == Y + ES_TICK
    assert headers[0].mid_price == (2 * Y + 2 * ES_TICK) * 0.5 * 1e-9
    assert all(h.book_valid for h in headers)


def test_warmup_updates_the_engine_but_emits_nothing() -> None:
    pipe = ServePipeline(CONFIG, DT, "09:00")
    recs = [*book_records(), ev(et("08:45"), ACTION_ADD, SIDE_BID, Y, 3, 3)]
    assert list(iter_serve_bins(pipe, [events(recs)])) == []
    eng = pipe.engine
    assert eng.event_count == 3
    assert eng.TE[idx_of(Y)] == 3
    assert eng.field("add_mass")[idx_of(Y)] == 3.0  # first touch after the book phase
    assert eng.field("rest_depth")[idx_of(Y)] == 8.0
    # The book phase set rest_depth without touching the ask tick.
    assert eng.field("rest_depth")[idx_of(Y + 2 * ES_TICK)] == 4.0
    assert eng.TE[idx_of(Y + 2 * ES_TICK)] == 0


def _check_window(b: ServeBin, pipe: ServePipeline) -> None:
    """The frame's rows equal the engine's arrays at centre + k, zero beyond the grid."""
    eng = pipe.engine
    assert b.k.dtype == np.int32
    assert b.k.tolist() == list(range(-R, R + 1))
    center = eng.price_to_idx(b.header.spot_ref_price_int)
    assert center >= 0
    for row, k in enumerate(b.k.tolist()):
        idx = center + k
        if 0 <= idx < N:
            assert np.array_equal(b.fields[:, row], eng.F[WIRE_ROWS, idx])
            assert b.last_event_id[row] == eng.TE[idx]
        else:
            assert not b.fields[:, row].any()
            assert b.last_event_id[row] == 0
            assert b.spectrum_score[row] == 0.0
            assert b.spectrum_state_code[row] == 0
            assert not b.projections[:, row].any()


def test_window_is_centred_on_spot_and_zero_filled_beyond_the_grid() -> None:
    pipe = ServePipeline(CONFIG, DT, "09:00")
    t0 = et("09:00")
    # Move the book to the top of the grid: bid Y+29 (slot 60), ask Y+31 (slot 62), spot slot 61.
    recs = [
        *book_records(),
        ev(t0 + 10 * MS, ACTION_ADD, SIDE_BID, Y + 29 * ES_TICK, 2, 3),
        ev(t0 + 20 * MS, ACTION_ADD, SIDE_ASK, Y + 31 * ES_TICK, 6, 4),
        ev(t0 + 30 * MS, ACTION_CANCEL, SIDE_ASK, Y + 2 * ES_TICK, 4, 2),
        ev(t0 + 150 * MS, ACTION_TRADE, SIDE_BID, Y, 1, 0),
    ]
    frames = []
    for b in iter_serve_bins(pipe, [events(recs)]):
        _check_window(b, pipe)  # the engine is exactly as it was at the emission
        frames.append(b)
    first = frames[0]
    assert first.header.spot_ref_price_int == Y + 30 * ES_TICK
    assert pipe.engine.price_to_idx(Y + 30 * ES_TICK) == 61
    cols = first.columns()
    assert list(cols)[: 1 + len(WIRE_FLOAT_FIELDS)] == ["k", *WIRE_FLOAT_FIELDS]
    # The ask one tick above spot, the bid one below, passively decayed to the bin end.
    assert cols["add_mass"][R + 1] == pytest.approx(6 * math.exp(-0.08 / 30), rel=1e-12)
    assert cols["add_mass"][R - 1] == pytest.approx(2 * math.exp(-0.09 / 30), rel=1e-12)
    assert cols["rest_depth"][R - 1] == 2.0
    assert cols["last_event_id"][R + 1] == 4
    assert not first.fields[:, R + 3 :].any()  # slots 64..66 do not exist


def test_no_spot_gives_all_zero_rows() -> None:
    pipe = ServePipeline(CONFIG, DT, "09:00")
    t0 = et("09:00")
    recs = [
        *book_records(),
        ev(t0 + 10 * MS, ACTION_CANCEL, SIDE_ASK, Y + 2 * ES_TICK, 4, 2),
    ]
    (b,) = iter_serve_bins(pipe, [events(recs)])
    assert b.header.spot_ref_price_int == 0
    assert b.header.mid_price == 0.0
    assert b.header.best_bid_price_int == Y
    assert b.header.best_ask_price_int == 0
    assert b.k.tolist() == list(range(-R, R + 1))
    for arr in (b.fields, b.spectrum_score, b.spectrum_state_code, b.last_event_id, b.projections):
        assert not arr.any()
    assert pipe.engine.F.any()  # the grid itself holds data


def _random_day() -> np.ndarray:
    """~4,000 records: 3% in the book phase (from 08:29:58 ET), 30% in the warmup, the rest in
    the first 10 s of bins (100 bins from 09:00)."""
    evs = build_stream(random_ops(np.random.default_rng(21), 3_000), base_tick=Y_TICK, band=20)
    rel = (evs["ts"] - evs["ts"][0]).astype(np.float64)
    start = et("08:29") + 58_000 * MS
    marks = np.quantile(rel, [0.0, 0.03, 0.33, 1.0])
    targets = np.array([0, 2_000, 1_802_000, 1_812_000], dtype=np.float64) * MS
    evs["ts"] = start + np.interp(rel, marks, targets).astype(np.int64)
    return evs


def _frames_equal(a: ServeBin, b: ServeBin) -> None:
    assert a.header == b.header
    for name in ("k", "fields", "spectrum_score", "spectrum_state_code", "last_event_id"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert np.array_equal(a.projections, b.projections)


def test_export_import_mid_stream_resumes_bit_identically() -> None:
    evs = _random_day()
    chunks = np.array_split(evs, 7)
    whole = list(iter_serve_bins(ServePipeline(CONFIG, DT, "09:00"), chunks))
    # 100 full bins, plus bin 100 holding the last record (exactly at 09:00:10, half-open).
    assert len(whole) == 101
    assert whole[-1].header.bin_event_count == 1
    assert any(b.spectrum_score.any() for b in whole)  # the spectrum state is exercised
    split = 4  # chunk 4 starts inside the bins
    assert evs["ts"][sum(c.size for c in chunks[:split])] > et("09:00")
    first = ServePipeline(CONFIG, DT, "09:00")
    head = [b for c in chunks[:split] for b in first.feed(c)]
    resumed = ServePipeline(CONFIG, DT, "09:00")
    resumed.import_state(first.export_state())
    tail = list(iter_serve_bins(resumed, chunks[split:]))
    assert len(head) + len(tail) == len(whole)
    for a, b in zip(whole, head + tail, strict=True):
        _frames_equal(a, b)
    assert whole[-1].header.event_id == evs.size


def test_chunking_does_not_change_the_output() -> None:
    evs = _random_day()
    one = list(iter_serve_bins(ServePipeline(CONFIG, DT, "09:00"), [evs]))
    many = list(iter_serve_bins(ServePipeline(CONFIG, DT, "09:00"), np.array_split(evs, 13)))
    assert len(one) == len(many)
    for a, b in zip(one, many, strict=True):
        _frames_equal(a, b)


def test_book_phase_ends_with_a_reanchor_on_the_grid_bbo_and_clean_tick_state() -> None:
    pipe = ServePipeline(CONFIG, DT, "09:00")
    t = et("08:00")
    recs = [
        *book_records(),  # first anchor: Y + 1 tick
        ev(t + 10, ACTION_ADD, SIDE_BID, Y + 10 * ES_TICK, 3, 3),
        ev(t + 11, ACTION_ADD, SIDE_ASK, Y + 13 * ES_TICK, 2, 4),
        ev(t + 12, ACTION_CANCEL, SIDE_ASK, Y + 2 * ES_TICK, 4, 2),
        ev(et("08:30"), ACTION_TRADE, SIDE_BID, Y, 1, 0),  # first warmup record
    ]
    assert list(pipe.feed(events(recs))) == []
    eng = pipe.engine
    assert pipe.book_ready
    # Grid BBO at the warmup start: 10 / 13 -> mid 11.5 ticks -> floor(12.0) = Y + 12.
    assert eng.anchor_tick_idx == Y_TICK + 12
    assert eng.depth_bid[eng.price_to_idx(Y)] == 5
    assert eng.depth_bid[eng.price_to_idx(Y + 10 * ES_TICK)] == 3
    assert eng.depth_ask[eng.price_to_idx(Y + 13 * ES_TICK)] == 2
    depth = (eng.depth_bid + eng.depth_ask).astype(np.float64)
    assert np.array_equal(eng.field("rest_depth"), depth)
    assert not np.delete(eng.F, FIELD_NAMES.index("rest_depth"), axis=0).any()
    assert not eng.TE.any() and not eng.TT.any()
    assert eng.event_count == 6  # book records count as events too


def test_records_older_than_the_warmup_start_after_the_book_phase_are_dropped() -> None:
    pipe = ServePipeline(CONFIG, DT, "09:00")
    recs = [
        *book_records(),
        ev(et("08:45"), ACTION_ADD, SIDE_BID, Y, 3, 3),
        ev(et("08:10"), ACTION_ADD, SIDE_BID, Y - ES_TICK, 3, 4),  # late record: dropped
        ev(et("09:00") + 1, ACTION_TRADE, SIDE_BID, Y, 1, 0),
    ]
    (b,) = iter_serve_bins(pipe, [events(recs)])
    assert b.header.event_id == 4
    assert 4 not in pipe.engine.orders()
