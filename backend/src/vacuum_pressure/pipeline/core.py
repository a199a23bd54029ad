"""Core path (SPEC 7, ``stream_core_events``): full-grid bins, no radius filtering, no spectrum.

Records before the warmup start are dropped (snapshot included: no book cache here). The grid
is anchored on the first priced A/M/F/C record, soft re-anchored once to the raw order-book BBO
at 09:30 ET or after 10,000 processed records (whichever first), then stays fixed. Each bin is
a ``CoreBin`` of views into the engine's arrays (copy what you keep).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from ..config import InstrumentConfig
from ..engine import AbsoluteTickEngine
from ..engine import kernels as K
from ..errors import BookIntegrityError, OutOfRangePriceError
from ..timeutil import et_to_ns
from .binning import BinnedPipeline, drive
from .frames import CoreBin, StaleFrameError

SOFT_REANCHOR_ET = "09:30"
SOFT_REANCHOR_AFTER_EVENTS = 10_000


class CorePipeline(BinnedPipeline[CoreBin]):
    """Incremental core-path pipeline: feed record chunks, get ``CoreBin`` frames."""

    def __init__(
        self,
        config: InstrumentConfig,
        dt: str,
        start_time: str,
        *,
        fail_on_out_of_range: bool = False,
        fix_reference_defects: bool = False,
        defer_passive_advance: bool = True,
    ) -> None:
        self.config = config
        self._log = _TickLog(config.n_absolute_ticks)
        self._inside = False  # a feed's generator has started and not finished
        self._abandoned: str | None = None  # why this pipeline cannot go on, if so
        self._engine = AbsoluteTickEngine(
            config.n_absolute_ticks,
            config.tick_int,
            auto_anchor_from_bbo=False,
            fail_on_out_of_range=fail_on_out_of_range,
            fix_reference_defects=fix_reference_defects,
        )
        self._init_clock(dt, start_time, config.cell_width_ns)
        self.engine.use_core_anchoring(et_to_ns(dt, SOFT_REANCHOR_ET), SOFT_REANCHOR_AFTER_EVENTS)
        if defer_passive_advance:
            self.engine.defer_passive_advance(self.emit_after_ns, config.cell_width_ns)

    @property
    def engine(self) -> AbsoluteTickEngine:  # type: ignore[override]
        """The engine, its per-tick state complete (after any replay still running)."""
        self._log.wait()
        return self._engine

    def feed(self, events: np.ndarray) -> Iterator[CoreBin]:
        """Process one chunk of records (EVENT_DTYPE, file order); yield the bins it closes."""
        if self._abandoned is not None:
            raise RuntimeError(self._abandoned)
        return self._run_core(events)

    def _run_core(self, events: np.ndarray) -> Iterator[CoreBin]:
        n = events.shape[0]
        if n == 0:
            return
        if not self._engine.deferred:
            yield from self._run_bins(events, 0)
            return
        # One kernel call runs the book over the chunk and logs the per-tick work; the log is
        # replayed up to a bin's position when its grid is read, and wholly at the end.
        engine = self._engine
        log = self._log
        ls = log.LS
        self._inside = True
        factors, bin_ends = engine.record_factors(
            events["ts"], self.bin_end_ns, self.warmup_start_ns
        )
        log.factors = factors
        ls[K.LS_BIN_END] = self.bin_end_ns
        ls[K.LS_COUNTED] = self.bin_event_count
        skip, warm = self.warmup_start_ns, self.emit_after_ns
        i = 0
        top: tuple[int, int, int] | None = None
        spot, mid, book_valid = 0, 0.0, False
        try:
            while i < n:
                error: Exception | None = None
                try:
                    i = engine.run_book_logged(events, i, n, skip, warm, bin_ends, log.arrays)
                except (BookIntegrityError, OutOfRangePriceError) as exc:
                    error = exc  # after the bins closed before the bad record
                rows = log.HDR[: ls[K.LS_HDR]].tolist()
                ls[K.LS_HDR] = 0
                log.live = True
                for counted, bb, ba, valid, event_id, anchor, pos, next_end in rows:
                    if (bb, ba, valid) != top:
                        top = (bb, ba, valid)
                        spot, mid = engine.spot_and_mid(bb, ba)
                        book_valid = engine.book_valid_for(bb, ba, bool(valid))
                    log.readable_pos = pos
                    self.bin_event_count = counted
                    while self.bin_end_ns < next_end:
                        # The bins after the first are empty: the same top, nothing logged.
                        header = self._close_bin(event_id, mid, spot, bb, ba, book_valid)
                        yield CoreBin(header, anchor, self)
                if error is not None:
                    raise error
                if i < n and log.full:
                    log.flush(engine, self._clock_k())  # out of room: replay, go on
            self.bin_event_count = int(ls[K.LS_COUNTED])
            log.live = False
        except GeneratorExit:
            # The consumer stopped inside the chunk: its current bin stays readable, but the
            # book ran ahead of it, so this pipeline can neither go on nor export a state.
            self._abandoned = (
                f"a feed was abandoned inside its chunk (at core bin {self.bin_seq - 1}), "
                "after the book had run ahead of it: import a state or start a new pipeline"
            )
            self._inside = False
            raise
        except BaseException:
            self._inside = False
            log.flush(engine, self._clock_k(), background=False)
            raise
        self._inside = False
        log.flush(engine, self._clock_k())

    def _clock_k(self) -> int:
        """The deferred clock the per-bin loop leaves: the end of the bin before the one
        records now go into (bin k ends at emit_after + k * width)."""
        since = int(self._log.LS[K.LS_BIN_END]) - self.width_ns - self.emit_after_ns
        return max(0, since // self.width_ns)

    def finish(self) -> Iterator[CoreBin]:
        """End of data: the last partial bin if it holds records; the per-tick state is then
        complete (every replay done)."""
        self._log.wait()
        yield from super().finish()

    def _emit(self) -> CoreBin:
        """One bin from the engine as it stands (the eager form, and the final partial bin)."""
        engine = self._engine
        if not engine.deferred:
            engine.advance_time(self.bin_end_ns)
        bb, ba, spot, mid, valid = engine.top()
        header = self._close_bin(engine.event_count, mid, spot, bb, ba, valid)
        return CoreBin(header, engine.anchor_tick_idx, self)

    def frame_fields(self, frame: CoreBin) -> np.ndarray:
        """The per-tick fields of ``frame`` while it is the current bin, advanced to its end."""
        engine = self._current_engine(frame)
        if engine.deferred:
            self._log.replay_to(engine)
            if engine.advanced_to_ns < frame.header.bin_end_ns:
                engine.advance_time(frame.header.bin_end_ns)
            engine.materialize()
        return engine.F

    def frame_last_event_ids(self, frame: CoreBin) -> np.ndarray:
        """Per tick, the event id of its last touch, while ``frame`` is the current bin (the
        passive advance does not change them)."""
        engine = self._current_engine(frame)
        self._log.replay_to(engine)
        return engine.TE

    def _current_engine(self, frame: CoreBin) -> AbsoluteTickEngine:
        """The engine, if ``frame`` is still the current bin: no later bin emitted and no later
        record processed (``feed`` runs a chunk's records of the next bin before it returns)."""
        engine = self._engine
        seq = frame.header.bin_seq
        if self.bin_seq != seq + 1 or not (
            self._log.readable() or engine.event_count == frame.header.event_id
        ):
            raise StaleFrameError(
                f"core bin {frame.header.bin_seq} was read after the pipeline moved on; "
                "copy its arrays while it is the current bin"
            )
        return engine

    def export_state(self) -> dict[str, Any]:
        """Everything needed to resume exactly from here (engine and bin clock), between two
        ``feed`` calls."""
        if self._abandoned is not None:
            raise RuntimeError(self._abandoned)
        if self._inside:
            raise RuntimeError("export_state is for between two feed calls, not inside one")
        self._log.wait()
        return {
            "engine": self.engine.export_state(),
            "clock": np.array([self.bin_seq, self.bin_end_ns, self.bin_event_count], np.int64),
        }

    def import_state(self, state: dict[str, Any]) -> None:
        """Resume from ``export_state`` output of a pipeline with the same settings."""
        self._log.discard()
        self._engine.import_state(state["engine"])
        self._abandoned = None
        self.bin_seq, self.bin_end_ns, self.bin_event_count = (int(x) for x in state["clock"])


def _start_replayer() -> None:
    """One process-wide thread replays finished tick logs while the book pass goes on (the
    replay kernel releases the GIL, so the two run on two cores). A forked child gets its own
    (the parent's thread does not exist there); a pipeline with replays in flight at the fork
    is not usable in the child."""
    global _REPLAYER
    _REPLAYER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vp-tick-log")


_REPLAYER: ThreadPoolExecutor
_start_replayer()
os.register_at_fork(after_in_child=_start_replayer)


class _TickLog:
    """The per-tick work a chunk's book pass logged (``kernels.run_book_logged``), and how far
    it has been replayed on the engine.

    Two sets of log arrays take turns: when one is complete (the chunk ended or the log is
    full) the replay thread replays it while the book pass writes the other. Everything that
    reads or replaces per-tick state first waits for that replay (``wait``).

    The sets start small and double (up to ``LOG_ENTRIES``) whenever this thread had to wait
    for a replay: a light stream keeps its few pages warm (a fresh page costs ~20 us here),
    a busy one gets room to absorb the two threads' jitter."""

    LOG_ENTRIES = 1 << 17
    LOG_ENTRIES_START = 1 << 13
    SYN_ROWS = 8
    HEADER_ROWS = 256  # per kernel call: emitted before the next (few live Python ints)

    def __init__(self, n_ticks: int) -> None:
        if (
            min(self.LOG_ENTRIES, self.LOG_ENTRIES_START) < K.LOG_PER_RECORD
            or self.SYN_ROWS < K.SYN_PER_RECORD
            or self.HEADER_ROWS < 1
        ):
            raise ValueError("the tick log must have room for one record")
        self.n_ticks = n_ticks
        self.HDR = np.zeros((self.HEADER_ROWS, K.N_HDR), dtype=np.int64)
        self.LS = np.zeros(K.N_LS, dtype=np.int64)
        self._capacity = min(self.LOG_ENTRIES_START, self.LOG_ENTRIES)
        self._sets = [self._new_set(), self._new_set()]
        self._replays: list[Future[None] | None] = [None, None]
        self._current = 0
        self.arrays = self._sets[0]
        self.factors = np.zeros((K.N_FACTORS, 1), dtype=np.float64)
        self.applied = 0
        self.live = False  # the latest bin emitted is the log replayed up to readable_pos
        self.readable_pos = 0

    def _new_set(self) -> tuple[np.ndarray, ...]:
        return (
            np.zeros((self._capacity, K.N_LOGI), dtype=np.int64),
            np.zeros((self._capacity, K.N_LOGF), dtype=np.float64),
            np.zeros((self.SYN_ROWS, self.n_ticks), dtype=np.float64),
            self.HDR,
            self.LS,
        )

    @property
    def full(self) -> bool:
        """True when the log or the sync rows may lack room for the next record."""
        LOGI, _, SYN = self.arrays[:3]
        return bool(
            self.LS[K.LS_LOG] + K.LOG_PER_RECORD > LOGI.shape[0]
            or self.LS[K.LS_SYN] + K.SYN_PER_RECORD > SYN.shape[0]
        )

    def readable(self) -> bool:
        """True if the latest bin's grid can still be had by replaying up to its position."""
        return self.live and self.applied <= self.readable_pos

    def wait(self) -> None:
        """Wait for the replays in the replay thread (re-raising their errors)."""
        for k, replay in enumerate(self._replays):
            if replay is not None:
                self._replays[k] = None
                replay.result()

    def discard(self) -> None:
        """Drop what is logged and not replayed (the per-tick state is about to be replaced)."""
        self.wait()
        self.live = False
        self.applied = 0
        for slot in (K.LS_LOG, K.LS_SYN, K.LS_HDR):
            self.LS[slot] = 0

    def replay_to(self, engine: AbsoluteTickEngine) -> None:
        """Bring the per-tick state up to date: earlier logs, and this one up to the latest
        bin's position while it is readable."""
        self.wait()
        if self.live and self.applied < self.readable_pos:
            engine.apply_log(self.factors, self.arrays, self.applied, self.readable_pos)
            self.applied = self.readable_pos

    def flush(self, engine: AbsoluteTickEngine, clock_k: int, *, background: bool = True) -> None:
        """Replay every entry left (in the replay thread, or here and now) and move the
        deferred clock to bin ``clock_k``'s end, then start afresh on the other set of
        arrays."""
        start, end = self.applied, int(self.LS[K.LS_LOG])
        self.live = False  # the engine's event count now tells if a bin is current
        # The set is handed over (or replayed) whatever happens next: start afresh now.
        self.applied = 0
        self.LS[K.LS_LOG] = 0
        self.LS[K.LS_SYN] = 0
        if start < end and background:
            self._replays[self._current] = _REPLAYER.submit(
                engine.apply_log, self.factors, self.arrays, start, end, clock_k
            )
            self._current ^= 1
            replay = self._replays[self._current]  # the other set's earlier replay
            if replay is not None:
                self._replays[self._current] = None
                if not replay.done() and self._capacity < self.LOG_ENTRIES:
                    self._capacity = min(2 * self._capacity, self.LOG_ENTRIES)  # more room
                replay.result()
            if self._sets[self._current][0].shape[0] < self._capacity:
                self._sets[self._current] = self._new_set()
            self.arrays = self._sets[self._current]
        else:
            self.wait()
            engine.apply_log(self.factors, self.arrays, start, end, clock_k)


def stream_core_events(pipeline: CorePipeline, chunks: Iterable[np.ndarray]) -> Iterator[CoreBin]:
    """Run the core pipeline over record chunks to the end of data."""
    return drive(pipeline, chunks)
