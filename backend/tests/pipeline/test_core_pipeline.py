"""Core path (SPEC 7, SPEC 11 item 14): full-grid bins, first-priced-event anchor, one soft
re-anchor (10,000 records or 09:30 ET, whichever first), warmup and bin boundaries."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest

from eventgen import ES_TICK, ev, events, small_config_raw
from vacuum_pressure.config import build_config
from vacuum_pressure.engine import FIELD_NAMES
from vacuum_pressure.engine import kernels as K
from vacuum_pressure.errors import OutOfRangePriceError
from vacuum_pressure.events import (
    ACTION_ADD,
    ACTION_CANCEL,
    ACTION_TRADE,
    SIDE_ASK,
    SIDE_BID,
    SIDE_NONE,
)
from vacuum_pressure.pipeline.core import CorePipeline, stream_core_events
from vacuum_pressure.pipeline.frames import CoreBin
from vacuum_pressure.timeutil import et_to_ns

DT = "2026-02-06"
N = 64
Y_TICK = 100_000  # absolute tick of the first priced record
Y = Y_TICK * ES_TICK
MS = 1_000_000
CONFIG = build_config(small_config_raw())


def et(clock: str) -> int:
    return et_to_ns(DT, clock)


def run(pipe: CorePipeline, evs: np.ndarray) -> list[tuple[dict[str, int | float | bool], int]]:
    """Headers (as dicts) and anchors of every bin, keeping nothing that aliases the engine."""
    return [(b.header.as_dict(), b.anchor_tick_idx) for b in stream_core_events(pipe, [evs])]


def test_full_grid_bins_anchor_from_first_priced_event_and_empty_bins() -> None:
    pipe = CorePipeline(CONFIG, DT, "09:00")
    t0 = et("09:00")
    evs = events(
        [
            ev(et("08:40"), ACTION_TRADE, SIDE_NONE, Y + 9 * ES_TICK, 1, 0),  # T does not anchor
            ev(et("08:41"), ACTION_CANCEL, SIDE_BID, Y, 3, 77),  # unknown order, but priced
            ev(et("08:42"), ACTION_ADD, SIDE_BID, Y, 5, 1),
            ev(et("08:43"), ACTION_ADD, SIDE_ASK, Y + 2 * ES_TICK, 4, 2),
            ev(t0 + 50 * MS, ACTION_ADD, SIDE_BID, Y - ES_TICK, 1, 3),  # bin 0
            ev(t0 + 350 * MS, ACTION_ADD, SIDE_ASK, Y + 3 * ES_TICK, 1, 4),  # bin 3
        ]
    )
    frames: list[CoreBin] = []
    shapes = []
    for b in stream_core_events(pipe, [evs]):
        frames.append(b)
        shapes.append((b.n_rows, b.fields.shape, b.last_event_id.shape))
    assert shapes == [(N, (18, N), (N,))] * 4
    headers = [f.header for f in frames]
    assert [h.bin_seq for h in headers] == [0, 1, 2, 3]
    assert [h.bin_start_ns for h in headers] == [t0 + k * 100 * MS for k in range(4)]
    assert [h.bin_end_ns for h in headers] == [t0 + (k + 1) * 100 * MS for k in range(4)]
    assert [h.ts_ns for h in headers] == [h.bin_end_ns for h in headers]
    assert [h.bin_event_count for h in headers] == [1, 0, 0, 1]
    assert [h.event_id for h in headers] == [5, 5, 5, 6]
    last = frames[-1]
    assert last.anchor_tick_idx == Y_TICK
    assert last.tick_abs_start == Y_TICK - N // 2
    assert last.tick_int == ES_TICK
    assert last.header.best_bid_price_int == Y
    assert last.header.best_ask_price_int == Y + 2 * ES_TICK
    assert last.header.spot_ref_price_int == Y + ES_TICK
    assert last.header.book_valid
    assert last.field("rest_depth")[N // 2] == 5.0
    assert last.field("rest_depth")[N // 2 + 3] == 1.0
    assert last.last_event_id[N // 2 + 3] == 6
    assert last.fields.shape == (len(FIELD_NAMES), N)


def test_records_before_the_warmup_start_are_dropped() -> None:
    pipe = CorePipeline(CONFIG, DT, "09:00")
    warm = et("08:30")
    assert pipe.warmup_start_ns == warm
    evs = events(
        [
            ev(warm - 1, ACTION_ADD, SIDE_BID, Y + 7 * ES_TICK, 5, 1),  # dropped, no anchor
            ev(warm, ACTION_ADD, SIDE_BID, Y, 5, 2),
            ev(et("09:00") + 1, ACTION_ADD, SIDE_ASK, Y + ES_TICK, 5, 3),
        ]
    )
    bins = run(pipe, evs)
    assert len(bins) == 1
    header, anchor = bins[0]
    assert anchor == Y_TICK
    assert header["event_id"] == 2
    assert header["bin_event_count"] == 1
    assert pipe.engine.orders() == {2: (SIDE_BID, Y, 5), 3: (SIDE_ASK, Y + ES_TICK, 5)}


def test_final_partial_bin_only_when_it_holds_records() -> None:
    t0 = et("09:00")
    warm_only = events([ev(et("08:45"), ACTION_ADD, SIDE_BID, Y, 1, 1)])
    assert run(CorePipeline(CONFIG, DT, "09:00"), warm_only) == []
    # A record exactly at a bin end belongs to the next bin: bins 0 and 1 close empty, bin 2
    # holds the record and is emitted at the end of data.
    at_edge = events([ev(t0 + 200 * MS, ACTION_ADD, SIDE_BID, Y, 1, 1)])
    bins = run(CorePipeline(CONFIG, DT, "09:00"), at_edge)
    assert [(h["bin_seq"], h["bin_event_count"]) for h, _ in bins] == [(0, 0), (1, 0), (2, 1)]
    assert [h["event_id"] for h, _ in bins] == [0, 0, 1]


def test_fail_fast_mode_raises_on_an_off_grid_price() -> None:
    pipe = CorePipeline(CONFIG, DT, "09:00", fail_on_out_of_range=True)
    far = Y + 40 * ES_TICK
    evs = events(
        [
            ev(et("08:40"), ACTION_ADD, SIDE_BID, Y, 1, 1),
            ev(et("08:41"), ACTION_ADD, SIDE_ASK, far, 1, 2),
        ]
    )
    with pytest.raises(OutOfRangePriceError, match=str(far)):
        run(pipe, evs)


def test_tolerant_mode_warns_and_keeps_going(caplog: pytest.LogCaptureFixture) -> None:
    pipe = CorePipeline(CONFIG, DT, "09:00")
    recs = [ev(et("08:40"), ACTION_ADD, SIDE_BID, Y, 1, 1)]
    recs += [
        ev(et("08:41") + i, ACTION_ADD, SIDE_ASK, Y + (40 + i) * ES_TICK, 1, 10 + i)
        for i in range(20)
    ]
    with caplog.at_level(logging.WARNING, logger="vacuum_pressure.engine"):
        assert run(pipe, events(recs)) == []
    assert pipe.engine.out_of_range_count == 20
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    assert len(pipe.engine.orders()) == 21


def _assert_tick_state_reset(pipe: CorePipeline) -> None:
    eng = pipe.engine
    depth = (eng.depth_bid + eng.depth_ask).astype(np.float64)
    assert np.array_equal(eng.field("rest_depth"), depth)
    others = [i for i in range(K.N_FIELDS) if i != K.REST_DEPTH]
    assert not eng.F[others].any()
    assert not eng.TT.any() and not eng.TE.any()


def test_soft_reanchor_after_ten_thousand_records_happens_once() -> None:
    pipe = CorePipeline(CONFIG, DT, "09:00")
    t = et("08:31")
    recs = [
        ev(t, ACTION_ADD, SIDE_BID, Y, 5, 1),
        ev(t + MS, ACTION_ADD, SIDE_ASK, Y + 10 * ES_TICK, 5, 2),
        ev(t + 2 * MS, ACTION_ADD, SIDE_BID, Y, 3, 3),  # mechanics on the bid tick
    ]
    recs += [ev(t + (3 + i) * MS, ACTION_TRADE, SIDE_NONE, Y, 1, 0) for i in range(9_997)]
    first = events(recs)
    assert first.size == 10_000
    assert run(pipe, first) == []
    assert not pipe.engine.soft_reanchored
    assert pipe.engine.anchor_tick_idx == Y_TICK
    assert pipe.engine.field("add_mass")[N // 2] == pytest.approx(5 * math.exp(-0.002 / 30) + 3)
    # Record 10,001: the raw BBO mid is Y + 5 ticks -> re-anchor before it is processed.
    trigger = events([ev(t + 20_000 * MS, ACTION_TRADE, SIDE_NONE, Y, 1, 0)])
    assert run(pipe, trigger) == []
    assert pipe.engine.soft_reanchored
    assert pipe.engine.soft_reanchor_event_id == 10_000
    assert pipe.engine.anchor_tick_idx == Y_TICK + 5
    assert pipe.engine.depth_bid[N // 2 - 5] == 8
    assert pipe.engine.depth_ask[N // 2 + 5] == 5
    _assert_tick_state_reset(pipe)
    # A later, very different BBO never moves the grid again.
    later = events(
        [
            ev(t + 30_000 * MS, ACTION_ADD, SIDE_BID, Y + 20 * ES_TICK, 1, 4),
            ev(t + 30_001 * MS, ACTION_ADD, SIDE_ASK, Y + 22 * ES_TICK, 1, 5),
            ev(t + 30_002 * MS, ACTION_CANCEL, SIDE_BID, Y, 5, 1),
        ]
    )
    run(pipe, later)
    assert pipe.engine.anchor_tick_idx == Y_TICK + 5
    assert pipe.engine.soft_reanchor_event_id == 10_000


def test_soft_reanchor_at_0930_et_happens_once() -> None:
    pipe = CorePipeline(CONFIG, DT, "09:30")
    t0 = et("09:30")
    pre = events(
        [
            ev(et("09:10"), ACTION_ADD, SIDE_BID, Y, 5, 1),
            ev(et("09:11"), ACTION_ADD, SIDE_ASK, Y + 10 * ES_TICK, 5, 2),
            ev(et("09:20"), ACTION_ADD, SIDE_ASK, Y + 10 * ES_TICK, 2, 3),
            ev(t0 - 1, ACTION_TRADE, SIDE_NONE, Y, 1, 0),
        ]
    )
    assert list(pipe.feed(pre)) == []
    assert not pipe.engine.soft_reanchored
    assert pipe.engine.anchor_tick_idx == Y_TICK
    trigger = events([ev(t0, ACTION_TRADE, SIDE_NONE, Y, 1, 0)])
    assert list(pipe.feed(trigger)) == []
    assert pipe.engine.soft_reanchored
    assert pipe.engine.soft_reanchor_event_id == 4
    assert pipe.engine.anchor_tick_idx == Y_TICK + 5
    _assert_tick_state_reset(pipe)
    after = events(
        [
            ev(t0 + 10 * MS, ACTION_ADD, SIDE_BID, Y + 8 * ES_TICK, 1, 4),
            ev(t0 + 60_000 * MS, ACTION_ADD, SIDE_ASK, Y + 9 * ES_TICK, 1, 5),
        ]
    )
    headers = [b.header for b in pipe.feed(after)]
    assert pipe.engine.anchor_tick_idx == Y_TICK + 5
    assert headers[0].bin_event_count == 2  # the trigger and the bid
    assert headers[0].best_bid_price_int == Y + 8 * ES_TICK
    assert len(headers) == 600  # one minute of 100 ms bins, all but the first empty


def test_soft_reanchor_waits_for_a_two_sided_raw_book() -> None:
    pipe = CorePipeline(CONFIG, DT, "09:30")
    t0 = et("09:30")
    evs = events(
        [
            ev(et("09:10"), ACTION_ADD, SIDE_BID, Y, 5, 1),
            ev(t0 + 1, ACTION_TRADE, SIDE_NONE, Y, 1, 0),  # past 09:30, one-sided: no re-anchor
            ev(t0 + 2, ACTION_ADD, SIDE_ASK, Y + 6 * ES_TICK, 5, 2),  # two-sided after this
            ev(t0 + 3, ACTION_TRADE, SIDE_NONE, Y, 1, 0),  # re-anchored before this record
        ]
    )
    assert list(pipe.feed(evs)) == []  # no bin closes
    assert pipe.engine.soft_reanchored
    assert pipe.engine.soft_reanchor_event_id == 3
    assert pipe.engine.anchor_tick_idx == Y_TICK + 3


@pytest.mark.parametrize("fix", [False, True])
def test_a_crossed_book_is_valid_with_a_spot_only_without_the_fix(fix: bool) -> None:
    # SPEC 11 defect: book_valid does not mean valid, and spot is computed in crossed books.
    t = et("09:00")
    evs = events(
        [
            ev(t - 5 * MS, ACTION_ADD, SIDE_BID, Y - ES_TICK, 1, 1),
            ev(t - 4 * MS, ACTION_ADD, SIDE_ASK, Y + ES_TICK, 1, 2),  # ok in bin 0
            ev(t + 150 * MS, ACTION_ADD, SIDE_BID, Y + 3 * ES_TICK, 1, 3),  # crossed in bin 1
            ev(t + 250 * MS, ACTION_CANCEL, SIDE_ASK, Y + ES_TICK, 1, 2),
            ev(t + 260 * MS, ACTION_ADD, SIDE_ASK, Y + 3 * ES_TICK, 1, 4),  # locked in bin 2
            ev(t + 350 * MS, ACTION_CANCEL, SIDE_BID, Y + 3 * ES_TICK, 1, 3),  # ok in bin 3
        ]
    )
    for pipe in (
        CorePipeline(CONFIG, DT, "09:00", fix_reference_defects=fix),
        CorePipeline(CONFIG, DT, "09:00", fix_reference_defects=fix, defer_passive_advance=False),
    ):
        headers = [h for h, _ in run(pipe, evs)]
        assert [h["book_valid"] for h in headers] == [True, not fix, not fix, True]
        spots = [h["spot_ref_price_int"] for h in headers]
        assert spots[0] == Y and spots[3] == Y + ES_TICK  # bids Y-1 / asks Y+1, then Y+3
        crossed, locked = Y + 2 * ES_TICK, Y + 3 * ES_TICK  # Y+3 over Y+1; Y+3 at Y+3
        assert spots[1:3] == ([0, 0] if fix else [crossed, locked])
        assert [h["mid_price"] == 0.0 for h in headers] == [False, fix, fix, False]
