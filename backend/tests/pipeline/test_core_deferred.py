"""The core path's deferred passive advance must give the eager advance's grid bit for bit,
whichever bins are read: every one, a sparse few (ticks then catch up over many missed bin
ends when an event touches them), or none until the end."""

from __future__ import annotations

import multiprocessing
import threading
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventgen import ES_TICK, OP_PLAIN_CLEAR, build_stream, small_config_raw
from testdata import require_shared
from vacuum_pressure.config import build_config, load_config
from vacuum_pressure.engine import AbsoluteTickEngine
from vacuum_pressure.engine import kernels as K
from vacuum_pressure.errors import BookIntegrityError, OutOfRangePriceError
from vacuum_pressure.events import ACTION_ADD, SIDE_BID
from vacuum_pressure.pipeline.core import CorePipeline, _TickLog, stream_core_events
from vacuum_pressure.pipeline.frames import StaleFrameError
from vacuum_pressure.source.dbn import DbnSource
from vacuum_pressure.timeutil import et_to_ns

DT = "2026-02-06"
MS = 1_000_000
CONFIG = build_config(small_config_raw(n_absolute_ticks=128))
BASE_TICK = 20_000


def _bits(a: np.ndarray) -> np.ndarray:
    return a.view(np.int64)


def _compare(config, dt: str, start: str, chunks: list[np.ndarray], read_every: int | None) -> int:
    """Run the eager and the deferred core paths side by side; compare headers on every bin
    and the full grid on the bins read (every ``read_every``-th, and the last one)."""
    eager_pipe = CorePipeline(config, dt, start, defer_passive_advance=False)
    eager = list_bins(eager_pipe, chunks, read_every)
    deferred = stream_core_events(CorePipeline(config, dt, start), chunks)
    n = 0
    last = None
    for seq, frame in enumerate(deferred):
        header, fields, last_ids = eager[seq]
        assert frame.header == header
        if read_every is not None and seq % read_every == 0:
            assert np.array_equal(_bits(frame.fields), _bits(fields)), f"bin {seq}"
            assert np.array_equal(frame.last_event_id, last_ids), f"bin {seq}"
        last = frame
        n += 1
    assert n == len(eager)
    if last is not None:  # the last bin is still current: reading it catches every tick up
        assert np.array_equal(_bits(last.fields), _bits(eager[-1][1]))
    return n


def list_bins(pipe: CorePipeline, chunks: list[np.ndarray], read_every: int | None):
    """Headers of every bin; grid copies of the bins that will be compared (and the last)."""
    out = []
    for seq, b in enumerate(stream_core_events(pipe, chunks)):
        keep = read_every is not None and seq % read_every == 0
        out.append((b.header, b.fields.copy() if keep else None, b.last_event_id.copy()))
    if out:
        out[-1] = (out[-1][0], pipe.engine.F.copy(), out[-1][2])
    return out


op = st.tuples(
    st.sampled_from([0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 5, OP_PLAIN_CLEAR]),
    st.integers(0, 1_000),
    st.integers(0, 1_000),
    st.integers(0, 1_000),
    st.sampled_from([0, 1, 300, 20_000, 100_000, 1_500_000, 40_000_000]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=st.lists(op, min_size=1, max_size=120),
    read_every=st.sampled_from([None, 1, 3, 17]),
    split=st.integers(0, 200),
)
def test_deferred_equals_eager_on_random_streams(
    ops: list[tuple[int, int, int, int, int]], read_every: int | None, split: int
) -> None:
    # Records start in the warmup (08:59:30) and run through many bins, with gaps of up to
    # 40 s so that ticks catch up over hundreds of missed bin ends.
    evs = build_stream(ops, base_tick=BASE_TICK, t0=et_to_ns(DT, "08:59:30"))
    split = min(split, evs.shape[0])
    _compare(CONFIG, DT, "09:00", [evs[:split], evs[split:]], read_every)


@pytest.fixture(scope="module")
def esh4_records():
    raw = require_shared("real/glbx-mdp3/esh4-glbx-mdp3-20231225.mbo.dbn.zst")
    config = load_config(
        require_shared("reference/esh4_20231225_1800_1805") / "instrument.esh4.yaml"
    )
    records = DbnSource(raw, symbol="ESH4", product_type="future_mbo", dt="2023-12-25").read_all()
    end = et_to_ns("2023-12-25", "18:20")
    return config, records[records["ts"] < end]


@pytest.mark.parametrize(("minutes", "read_every"), [(3, 1), (20, 97)])
def test_deferred_equals_eager_on_real_esh4(esh4_records, minutes: int, read_every: int) -> None:
    config, records = esh4_records
    records = records[records["ts"] < et_to_ns("2023-12-25", f"18:{minutes:02d}")]
    chunks = [records[i : i + 20_000] for i in range(0, records.shape[0], 20_000)]
    bins = _compare(config, "2023-12-25", "18:00", chunks, read_every)
    assert minutes * 600 - 10 <= bins <= minutes * 600  # the last bins may hold no records


@pytest.mark.parametrize("defer", [True, False])
def test_core_state_export_import_resumes_bit_for_bit(esh4_records, defer: bool) -> None:
    # Split after the soft re-anchor (the anchoring state must travel with the engine, or the
    # resumed run re-anchors and wipes every tick) and inside a bin.
    config, records = esh4_records
    records = records[records["ts"] < et_to_ns("2023-12-25", "18:06")]  # 22,053 records
    chunks = [records[i : i + 3_000] for i in range(0, records.shape[0], 3_000)]
    whole = CorePipeline(config, "2023-12-25", "18:00", defer_passive_advance=defer)
    expected = [
        (b.header, b.fields.copy() if b.header.bin_seq % 50 == 0 else None, b.last_event_id.copy())
        for b in stream_core_events(whole, chunks)
    ]
    first = CorePipeline(config, "2023-12-25", "18:00", defer_passive_advance=defer)
    got = [b.header for chunk in chunks[:4] for b in first.feed(chunk)]
    assert first.engine.soft_reanchored and 100 < len(got) < len(expected) - 1_000
    resumed = CorePipeline(config, "2023-12-25", "18:00", defer_passive_advance=defer)
    resumed.import_state(first.export_state())
    assert resumed.engine.anchor_tick_idx == first.engine.anchor_tick_idx
    for b in stream_core_events(resumed, chunks[4:]):
        header, fields, last_ids = expected[len(got)]
        assert b.header == header
        if fields is not None:
            assert np.array_equal(_bits(b.fields), _bits(fields)), f"bin {header.bin_seq}"
        assert np.array_equal(b.last_event_id, last_ids)
        got.append(b.header)
    assert got == [h for h, _, _ in expected]
    for engine in (whole.engine, resumed.engine):
        engine.materialize()  # the end of data: every tick up to the last bin end
    assert np.array_equal(_bits(resumed.engine.F), _bits(whole.engine.F))


def test_import_state_refuses_other_settings_and_keeps_the_fail_switch() -> None:
    n, tick = CONFIG.n_absolute_ticks, CONFIG.tick_int
    state = AbsoluteTickEngine(n, tick).export_state()
    with pytest.raises(ValueError, match="fix_reference_defects"):
        AbsoluteTickEngine(n, tick, fix_reference_defects=True).import_state(state)
    core = CorePipeline(CONFIG, DT, "09:00")
    with pytest.raises(ValueError, match="auto_anchor_from_bbo, core-path anchoring, deferred"):
        core.engine.import_state(state)
    other_start = CorePipeline(CONFIG, DT, "09:30")
    with pytest.raises(ValueError, match="deferred bins"):
        other_start.engine.import_state(core.engine.export_state())
    strict = AbsoluteTickEngine(n, tick, fail_on_out_of_range=True)
    strict.import_state(state)
    assert strict.S[K.S_FAIL_OOR] == 1


def test_order_table_grows_within_a_bin_like_a_big_table() -> None:
    # 900 adds, 400 cancels/fills/modifies, 300 adds, 20 ms apart (5 a bin): a 16-slot
    # table doubles seven times, mid-bin, and every bin and grid equals the default table's.
    ops = (
        [(0, i, i * 7, 1 + i % 9, 20_000) for i in range(900)]
        + [(1 + i % 3, i * 13, i * 5, i, 20_000) for i in range(400)]
        + [(0, i, i * 3, 2, 20_000) for i in range(300)]
    )
    evs = build_stream(ops, base_tick=BASE_TICK, t0=et_to_ns(DT, "08:59:40"))
    big = CorePipeline(CONFIG, DT, "09:00")
    expected = [(b.header, b.fields.copy()) for b in stream_core_events(big, [evs])]
    small = CorePipeline(CONFIG, DT, "09:00")
    small.engine._alloc_table(16)  # as if the table had started this small
    bins = 0
    for (header, fields), frame in zip(
        expected, stream_core_events(small, [evs[:700], evs[700:]]), strict=True
    ):
        assert frame.header == header
        assert np.array_equal(_bits(frame.fields), _bits(fields)), f"bin {header.bin_seq}"
        bins += 1
    assert bins > 100
    assert small.engine.OK.size == 2048  # up to ~900 live orders: 3/4 of 1024 is too few
    assert small.engine.orders() == big.engine.orders()


def test_a_frame_read_after_the_pipeline_moved_on_raises() -> None:
    t0 = et_to_ns(DT, "09:00")
    evs = build_stream([(0, 0, 0, 5, 0), (0, 1, 2, 5, 350_000)], base_tick=BASE_TICK, t0=t0)
    frames = list(stream_core_events(CorePipeline(CONFIG, DT, "09:00"), [evs]))
    assert len(frames) == 4
    with pytest.raises(StaleFrameError, match="core bin 0 was read after"):
        frames[0].fields  # noqa: B018
    assert frames[-1].fields.shape == (K.N_FIELDS, 128)
    # A chunk's trailing records of the next bin are processed before feed() returns: the
    # last bin it yielded is then no longer current either.
    pipe = CorePipeline(CONFIG, DT, "09:00")
    last = list(pipe.feed(evs))[-1]
    assert last.header.bin_seq == 2
    with pytest.raises(StaleFrameError):
        last.last_event_id  # noqa: B018


def test_record_factors_use_the_bin_end_each_record_is_processed_in() -> None:
    engine = AbsoluteTickEngine(16, 250_000_000)
    start, width = 1_000 * MS, 100 * MS
    engine.defer_passive_advance(start, width)
    ts = np.array(
        [
            start - 30 * MS,  # warmup -> end of bin 0
            start,  # bin 0 starts here: a whole bin
            start + 40 * MS,
            start + width,  # closes bin 0 -> processed in bin 1
            start + 2 * width - 1,
            start + 50 * MS,  # late (bin 0's time): processed in the current bin, 1
            start + 3 * width + 5,  # closes bins 1 and 2 -> bin 3
        ]
    )
    factors, bin_ends = engine.record_factors(ts, start + width)
    assert bin_ends.tolist() == [start + k * width for k in (1, 1, 1, 2, 2, 2, 4)]
    assert np.array_equal(factors[0], (bin_ends - ts) / 1e9)
    assert np.array_equal(factors[:, 1], engine.PF[16])  # a whole bin: the uniform row
    assert factors[1, 0] == np.exp(-np.array([0.13]) / K.TAU_REST_DECAY)[0]
    # Fed later in the day, the same records all join the current bin.
    _, later = engine.record_factors(ts, start + 10 * width)
    assert (later == start + 10 * width).all()
    # Records before the first one at or after skip_before are dropped: no factors needed,
    # and the others get the same bin ends and factors.
    skipped_factors, skipped = engine.record_factors(ts, start + width, skip_before=start)
    assert skipped.tolist() == [start + k * width for k in (1, 1, 1, 2, 2, 2, 4)]
    assert np.array_equal(skipped_factors[:, 1:], factors[:, 1:])


def test_late_records_catch_up_like_the_eager_advance() -> None:
    """Records older than the current bin (out of order) are processed in it; their tick's
    next advance is that bin's end, in both forms."""
    t0 = et_to_ns(DT, "09:00")
    ops = build_stream(
        [(0, 0, 0, 5, 0), (0, 1, 2, 5, 0), (0, 2, 4, 5, 0), (2, 0, 0, 0, 0), (3, 1, 5, 9, 0)],
        base_tick=BASE_TICK,
        t0=t0,
    )
    ts = [t0 + 10 * MS, t0 + 450 * MS, t0 + 120 * MS, t0 + 30 * MS, t0 + 2_000 * MS]
    ts += [t0 + 2_500 * MS] * (ops.shape[0] - len(ts))
    ops["ts"] = ts[: ops.shape[0]]
    for read_every in (None, 1, 2):
        _compare(CONFIG, DT, "09:00", [ops], read_every)


def test_deferred_clock_only_moves_to_later_bin_ends_and_state_is_eager() -> None:
    engine = AbsoluteTickEngine(16, 250_000_000)
    engine.defer_passive_advance(1_000, 100)
    assert engine.advanced_to_ns == 0
    engine.advance_time(1_000)  # the start of bin 0: no bin end yet
    assert engine.advanced_to_ns == 0
    engine.advance_time(1_200)
    engine.advance_time(1_200)  # the same bin end again is a no-op
    assert engine.advanced_to_ns == 1_200
    assert engine.DA[K.DA_CLOCK_K] == 2
    with pytest.raises(ValueError, match="not a bin end"):
        engine.advance_time(1_250)
    with pytest.raises(ValueError, match="not a bin end"):
        engine.advance_time(1_100)
    with pytest.raises(ValueError, match="before the first bin end"):
        engine.defer_passive_advance(1_000, 100)
    state = engine.export_state()  # a deferred state carries its clock
    same = AbsoluteTickEngine(16, 250_000_000)
    same.defer_passive_advance(1_000, 100)
    same.import_state(state)
    assert same.advanced_to_ns == 1_200
    with pytest.raises(ValueError, match="deferred passive advance"):
        AbsoluteTickEngine(16, 250_000_000).import_state(state)


def test_record_factors_are_the_eager_advance_factors_bit_for_bit() -> None:
    """The chunk-wide factors (computed in place) equal the reference's NumPy expressions
    (SPEC 11.5) for the same dt, from 1 ns to an hour."""
    engine = AbsoluteTickEngine(16, 250_000_000)
    start, width = 10**18, 100 * MS
    engine.defer_passive_advance(start, width)
    rng = np.random.default_rng(5)
    warmup = start - rng.integers(1, 3_600 * 10**9, 20_000)  # dt up to an hour
    in_bins = start + rng.integers(0, 600 * 10**9, 30_000)  # dt from 1 ns to one bin
    ts = np.sort(np.concatenate([warmup, in_bins]))
    factors, bin_ends = engine.record_factors(ts, start + width)
    dt = (bin_ends - ts).astype(np.float64) / 1e9
    alpha_v, alpha_a, alpha_j = (1.0 - np.exp(-dt / tau) for tau in (2.0, 5.0, 10.0))
    rest_decay = np.exp(-dt / 30.0)
    expected = np.array(
        [dt, rest_decay, alpha_a, alpha_j, 1.0 - alpha_v, 1.0 - alpha_a, 1.0 - alpha_j]
    )
    assert np.array_equal(factors.view(np.int64), expected.view(np.int64))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=st.lists(op, min_size=1, max_size=120),
    read_every=st.sampled_from([None, 1, 3]),
    sizes=st.tuples(st.integers(4, 12), st.integers(2, 3), st.integers(1, 3)),
)
def test_a_full_tick_log_is_replayed_mid_chunk_like_the_eager_path(
    ops: list[tuple[int, int, int, int, int]],
    read_every: int | None,
    sizes: tuple[int, int, int],
) -> None:
    # The book pass stops where the log, the sync rows or the header rows have no room; the
    # log is then replayed and the chunk goes on: the bins and grids must not notice.
    evs = build_stream(ops, base_tick=BASE_TICK, t0=et_to_ns(DT, "08:59:30"))
    with pytest.MonkeyPatch.context() as mp:
        for name, size in zip(("LOG_ENTRIES", "SYN_ROWS", "HEADER_ROWS"), sizes, strict=True):
            mp.setattr(_TickLog, name, size)
        _compare(CONFIG, DT, "09:00", [evs], read_every)


def test_export_state_inside_a_feed_is_refused(esh4_records) -> None:
    # Inside feed() the book is ahead of the per-tick state (the log is not replayed yet).
    config, records = esh4_records
    pipe = CorePipeline(config, "2023-12-25", "18:00")
    frames = pipe.feed(records[records["ts"] < et_to_ns("2023-12-25", "18:01")])
    next(frames)
    with pytest.raises(RuntimeError, match="between two feed calls"):
        pipe.export_state()
    for _ in frames:
        pass
    assert "engine" in pipe.export_state()


@pytest.mark.parametrize("read_every", [None, 7])
def test_replays_in_the_replay_thread_keep_every_grid(esh4_records, read_every) -> None:
    # Each chunk's log is replayed in the replay thread while the next chunk's book runs:
    # with 300-record chunks hundreds of replays overlap the book, and reads wait for them.
    config, records = esh4_records
    records = records[records["ts"] < et_to_ns("2023-12-25", "18:04")]
    chunks = [records[i : i + 300] for i in range(0, records.shape[0], 300)]
    assert len(chunks) > 40
    _compare(config, "2023-12-25", "18:00", chunks, read_every)


def test_log_sets_grow_while_the_replay_lags_and_grids_stay_exact(esh4_records) -> None:
    # A slow replay thread makes the main thread wait at every switch of log sets: the sets
    # must double up to their limit, and every bin and grid stay the eager path's.
    config, records = esh4_records
    records = records[records["ts"] < et_to_ns("2023-12-25", "18:03")]
    chunks = [records[i : i + 500] for i in range(0, records.shape[0], 500)]
    replay = AbsoluteTickEngine.apply_log

    def slow_in_the_replay_thread(self, *args, **kwargs):
        if threading.current_thread().name.startswith("vp-tick-log"):
            time.sleep(0.002)
        return replay(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_TickLog, "LOG_ENTRIES_START", 16)
        mp.setattr(_TickLog, "LOG_ENTRIES", 256)
        mp.setattr(AbsoluteTickEngine, "apply_log", slow_in_the_replay_thread)
        pipe = CorePipeline(config, "2023-12-25", "18:00")
        assert pipe._log._capacity == 16
        eager = list_bins(
            CorePipeline(config, "2023-12-25", "18:00", defer_passive_advance=False), chunks, 5
        )
        for seq, frame in enumerate(stream_core_events(pipe, chunks)):
            header, fields, last_ids = eager[seq]
            assert frame.header == header
            if seq % 5 == 0:
                assert np.array_equal(_bits(frame.fields), _bits(fields)), f"bin {seq}"
                assert np.array_equal(frame.last_event_id, last_ids)
        assert seq == len(eager) - 1
        assert pipe._log._capacity == 256


def test_the_book_pass_refuses_factors_made_for_another_bin() -> None:
    t0 = et_to_ns(DT, "09:00")
    evs = build_stream([(0, 0, 0, 5, 0), (0, 1, 2, 5, 250_000)], base_tick=BASE_TICK, t0=t0)
    pipe = CorePipeline(CONFIG, DT, "09:00")
    engine, log = pipe._engine, pipe._log
    _, bin_ends = engine.record_factors(evs["ts"], pipe.bin_end_ns + pipe.width_ns)
    log.LS[K.LS_BIN_END] = pipe.bin_end_ns
    with pytest.raises(BookIntegrityError, match="factors for another bin end"):
        engine.run_book_logged(evs, 0, evs.shape[0], 0, pipe.emit_after_ns, bin_ends, log.arrays)


def _stream_with_a_bad_price() -> np.ndarray:
    """20 adds 150 ms apart, an add far off the grid, then one more record 0.5 s later."""
    t0 = et_to_ns(DT, "09:00")
    evs = build_stream([(0, i, i, 5, 150_000) for i in range(20)], base_tick=BASE_TICK, t0=t0)
    bad = evs[-1:].copy()
    bad["ts"] = int(evs["ts"][-1]) + 50 * MS
    bad["action"], bad["side"], bad["order_id"] = ACTION_ADD, SIDE_BID, 999
    bad["price"], bad["size"] = 30_000 * ES_TICK, 1
    evs = np.concatenate([evs, bad, evs[-1:]])
    evs["ts"][-1] = int(bad["ts"][0]) + 500 * MS
    return evs


@pytest.mark.parametrize("defer", [True, False])
def test_an_error_comes_after_the_bins_closed_before_it(defer: bool) -> None:
    # fail_on_out_of_range: the bins before the bad record are emitted first, and a later
    # feed goes on from there, as in the per-bin loop (eager form: the reference for both).
    evs = _stream_with_a_bad_price()
    pipe = CorePipeline(CONFIG, DT, "09:00", fail_on_out_of_range=True,
                        defer_passive_advance=defer)  # fmt: skip
    got = []
    with pytest.raises(OutOfRangePriceError):
        got.extend(b.header for b in pipe.feed(evs))
    later = evs[-1:].copy()
    later["ts"] = int(evs["ts"][-1]) + 300 * MS
    after = [b.header for b in pipe.feed(later)]
    assert len(got) == 30  # 20 adds 150 ms apart from 09:00: bins 0..29 closed
    assert [h.bin_seq for h in after] == list(range(30, 38))


def test_a_feed_left_early_keeps_its_bin_readable_and_stops_the_pipeline(esh4_records) -> None:
    config, records = esh4_records
    records = records[records["ts"] < et_to_ns("2023-12-25", "18:01")]
    eager = CorePipeline(config, "2023-12-25", "18:00", defer_passive_advance=False)
    expected = [(b.header, b.fields.copy()) for b in eager.feed(records)][:100]
    pipe = CorePipeline(config, "2023-12-25", "18:00")
    for frame in pipe.feed(records):
        if frame.header.bin_seq == 99:
            break
    # The generator is closed; the bin the consumer held is still the current one.
    assert frame.header == expected[99][0]
    assert np.array_equal(_bits(frame.fields), _bits(expected[99][1]))
    for call in (lambda: pipe.export_state(), lambda: pipe.feed(records)):
        with pytest.raises(RuntimeError, match="abandoned inside its chunk"):
            call()
    fresh = CorePipeline(config, "2023-12-25", "18:00")
    pipe.import_state(fresh.export_state())  # a state import starts it over
    assert len(list(pipe.feed(records))) >= 590


def test_export_state_is_refused_inside_a_feed_that_logged_nothing() -> None:
    t0 = et_to_ns(DT, "09:00")
    trades = build_stream([(4, 0, 0, 1, 150_000)] * 12, base_tick=BASE_TICK, t0=t0)
    pipe = CorePipeline(CONFIG, DT, "09:00")
    frames = pipe.feed(trades)
    next(frames)
    with pytest.raises(RuntimeError, match="between two feed calls"):
        pipe.export_state()
    frames.close()


def test_after_each_feed_the_grid_stands_where_the_per_bin_loop_leaves_it(esh4_records) -> None:
    # Between feeds the deferred clock is the end of the bin before the current one, as the
    # per-bin loop leaves it: materialized there, the grid is the eager one.
    config, records = esh4_records
    records = records[records["ts"] < et_to_ns("2023-12-25", "18:02")]
    chunks = [records[i : i + 2_500] for i in range(0, records.shape[0], 2_500)]
    eager = CorePipeline(config, "2023-12-25", "18:00", defer_passive_advance=False)
    deferred = CorePipeline(config, "2023-12-25", "18:00")
    for chunk in chunks:
        list(eager.feed(chunk))
        list(deferred.feed(chunk))
        engine = deferred.engine
        clock = deferred.bin_end_ns - deferred.width_ns
        assert engine.advanced_to_ns == (clock if clock > deferred.emit_after_ns else 0)
        engine.materialize()
        assert np.array_equal(_bits(engine.F), _bits(eager.engine.F))


def _run_in_child(config, records, out) -> None:
    out.put(len(list(stream_core_events(CorePipeline(config, "2023-12-25", "18:00"), records))))


def test_a_forked_child_replays_with_its_own_thread(esh4_records) -> None:
    config, records = esh4_records
    chunks = [records[:5_000], records[5_000:10_000]]
    list(stream_core_events(CorePipeline(config, "2023-12-25", "18:00"), chunks))  # parent's
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=_run_in_child, args=(config, chunks, out))
    child.start()
    child.join(60)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, "the child hung waiting for the parent's replay thread"
    assert out.get(timeout=5) > 0
