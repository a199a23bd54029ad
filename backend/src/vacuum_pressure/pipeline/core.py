"""Core path (SPEC 7, ``stream_core_events``): full-grid bins, no radius filtering, no spectrum.

Records before the warmup start are dropped (snapshot included: no book cache here). The grid
is anchored on the first priced A/M/F/C record, soft re-anchored once to the raw order-book BBO
at 09:30 ET or after 10,000 processed records (whichever first), then stays fixed. Each bin is
a ``CoreBin`` of views into the engine's arrays (copy what you keep).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ..config import InstrumentConfig
from ..engine import AbsoluteTickEngine
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
        self.engine = AbsoluteTickEngine(
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

    def feed(self, events: np.ndarray) -> Iterator[CoreBin]:
        """Process one chunk of records (EVENT_DTYPE, file order); yield the bins it closes."""
        return self._run_core(events)

    def _run_core(self, events: np.ndarray) -> Iterator[CoreBin]:
        n = events.shape[0]
        if n == 0:
            return
        if not self.engine.deferred:
            yield from self._run_bins(events, 0)
            return
        engine = self.engine
        ts = events["ts"]
        factors = engine.record_factors(ts, self.bin_end_ns, self.warmup_start_ns)
        width = self.width_ns
        skip, warm = self.warmup_start_ns, self.emit_after_ns
        i = 0
        clock = -1
        top: tuple[int, int, bool] | None = None
        spot, mid, book_valid = 0, 0.0, False
        while True:
            # Records of this bin see every earlier bin end (bins only move the clock).
            if self.bin_end_ns - width != clock:
                clock = self.bin_end_ns - width
                engine.advance_time(clock)
            i, counted, bb, ba, valid, event_id, anchor = engine.run_bin(
                events, i, n, skip, warm, self.bin_end_ns, factors
            )
            self.bin_event_count += counted
            if i >= n:
                return
            # Record i belongs to a later bin: emit this one and the empty ones before it
            # without going back to the kernel (nothing changes but the clock).
            next_ts = int(ts[i])
            if (bb, ba, valid) != top:
                top = (bb, ba, valid)
                spot, mid = engine.spot_and_mid(bb, ba)
                book_valid = engine.book_valid_for(bb, ba, valid)
            while next_ts >= self.bin_end_ns:
                yield CoreBin(
                    self._close_bin(event_id, mid, spot, bb, ba, book_valid), anchor, self
                )

    def _emit(self) -> CoreBin:
        """One bin from the engine as it stands (the eager form, and the final partial bin)."""
        engine = self.engine
        if not engine.deferred:
            engine.advance_time(self.bin_end_ns)
        bb, ba, spot, mid, valid = engine.top()
        header = self._close_bin(engine.event_count, mid, spot, bb, ba, valid)
        return CoreBin(header, engine.anchor_tick_idx, self)

    def frame_fields(self, frame: CoreBin) -> np.ndarray:
        """The per-tick fields of ``frame`` while it is the current bin, advanced to its end."""
        engine = self._current_engine(frame)
        if engine.deferred:
            if engine.advanced_to_ns < frame.header.bin_end_ns:
                engine.advance_time(frame.header.bin_end_ns)
            engine.materialize()
        return engine.F

    def frame_last_event_ids(self, frame: CoreBin) -> np.ndarray:
        """Per tick, the event id of its last touch, while ``frame`` is the current bin (the
        passive advance does not change them)."""
        return self._current_engine(frame).TE

    def _current_engine(self, frame: CoreBin) -> AbsoluteTickEngine:
        """The engine, if ``frame`` is still the current bin: no later bin emitted and no later
        record processed (``feed`` runs a chunk's records of the next bin before it returns)."""
        engine = self.engine
        if self.bin_seq != frame.header.bin_seq + 1 or engine.event_count != frame.header.event_id:
            raise StaleFrameError(
                f"core bin {frame.header.bin_seq} was read after the pipeline moved on; "
                "copy its arrays while it is the current bin"
            )
        return engine

    def export_state(self) -> dict[str, Any]:
        """Everything needed to resume exactly from here (engine and bin clock), between two
        ``feed`` calls."""
        return {
            "engine": self.engine.export_state(),
            "clock": np.array([self.bin_seq, self.bin_end_ns, self.bin_event_count], np.int64),
        }

    def import_state(self, state: dict[str, Any]) -> None:
        """Resume from ``export_state`` output of a pipeline with the same settings."""
        self.engine.import_state(state["engine"])
        self.bin_seq, self.bin_end_ns, self.bin_event_count = (int(x) for x in state["clock"])


def stream_core_events(pipeline: CorePipeline, chunks: Iterable[np.ndarray]) -> Iterator[CoreBin]:
    """Run the core pipeline over record chunks to the end of data."""
    return drive(pipeline, chunks)
