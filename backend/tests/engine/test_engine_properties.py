"""Property tests of the AbsoluteTickEngine over random valid MBO streams (hypothesis).

Streams hold adds, cancels, modifies (same and new price), fills as T + F + the exchange's
C/M in one event, lone trades, and occasional clears with or without a snapshot. At every
F_LAST record the engine's book must equal a Databento-rules book; fields stay finite and
depth never goes negative.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventgen import (
    ES_TICK,
    NS,
    OP_PLAIN_CLEAR,
    ReferenceBook,
    build_stream,
    run_all,
)
from vacuum_pressure.engine import AbsoluteTickEngine
from vacuum_pressure.events import F_LAST

N_TICKS = 128
BASE_TICK = 20_000  # prices stay within +-30 ticks of it, always on the 128-tick grid

op = st.tuples(
    st.sampled_from([0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 5, OP_PLAIN_CLEAR]),
    st.integers(0, 1_000),
    st.integers(0, 1_000),
    st.integers(0, 1_000),
    st.sampled_from([0, 0, 1, 300, 20_000, 1_500_000]),
)
streams = st.lists(op, min_size=1, max_size=160).map(
    lambda ops: build_stream(ops, base_tick=BASE_TICK)
)
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _reference_depth(ref: ReferenceBook, eng: AbsoluteTickEngine) -> np.ndarray:
    out = np.zeros((2, N_TICKS), dtype=np.int64)
    for row, levels in ((0, ref.bids), (1, ref.asks)):
        for price, size in levels.items():
            out[row, eng.price_to_idx(price)] += size
    return out


@SETTINGS
@given(streams, st.booleans())
def test_book_equals_reference_at_every_f_last(evs: np.ndarray, fix: bool) -> None:
    eng = AbsoluteTickEngine(N_TICKS, ES_TICK, fix_reference_defects=fix)
    ref = ReferenceBook()
    start = 0
    for b in np.flatnonzero(evs["flags"] & F_LAST).tolist():
        for r in range(start, b + 1):
            ref.apply_record(evs[r])
        run_all(eng, evs, start, b + 1)
        start = b + 1
        assert (eng.D >= 0).all()
        assert np.isfinite(eng.F).all()
        assert eng.orders() == ref.orders
        top = eng.top()
        assert (top.best_bid_price_int, top.best_ask_price_int) == (ref.best_bid(), ref.best_ask())
        if eng.anchor_tick_idx < 0:
            # Not anchored yet (never two-sided): no grid depth, BBO from raw prices.
            assert not eng.D.any()
            continue
        assert np.array_equal(eng.D, _reference_depth(ref, eng))
    assert eng.event_count == evs.size
    assert eng.out_of_range_count == 0


@SETTINGS
@given(streams, st.integers(0, 10_000), st.integers(0, 5))
def test_state_round_trip_at_any_record(evs: np.ndarray, split: int, gap_s: int) -> None:
    split = split % (evs.size + 1)
    whole = AbsoluteTickEngine(N_TICKS, ES_TICK)
    part = AbsoluteTickEngine(N_TICKS, ES_TICK)
    run_all(whole, evs, 0, split)
    run_all(part, evs, 0, split)
    resumed = AbsoluteTickEngine(N_TICKS, ES_TICK)
    resumed.import_state(part.export_state())
    run_all(whole, evs, split)
    run_all(resumed, evs, split)
    end = int(evs["ts"][-1]) + gap_s * NS
    whole.advance_time(end)
    resumed.advance_time(end)
    for name in ("F", "TT", "TE", "D", "S"):
        assert np.array_equal(getattr(whole, name), getattr(resumed, name)), name
    assert whole.orders() == resumed.orders()
    assert np.isfinite(whole.F).all()
