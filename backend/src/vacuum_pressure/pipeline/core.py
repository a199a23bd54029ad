"""Core path (SPEC 7, ``stream_core_events``): full-grid bins, no radius filtering, no spectrum.

Records before the warmup start are dropped (snapshot included: no book cache here). The grid
is anchored on the first priced A/M/F/C record, soft re-anchored once to the raw order-book BBO
at 09:30 ET or after 10,000 processed records (whichever first), then stays fixed. Each bin is
a ``CoreBin`` of views into the engine's arrays (copy what you keep).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from ..config import InstrumentConfig
from ..engine import AbsoluteTickEngine
from ..timeutil import et_to_ns, warmup_bounds_ns
from .frames import BinHeader, CoreBin

SOFT_REANCHOR_ET = "09:30"
SOFT_REANCHOR_AFTER_EVENTS = 10_000


class CorePipeline:
    """Incremental core-path pipeline: feed record chunks, get ``CoreBin`` frames."""

    def __init__(
        self,
        config: InstrumentConfig,
        dt: str,
        start_time: str,
        *,
        fail_on_out_of_range: bool = False,
        fix_reference_defects: bool = False,
    ) -> None:
        self.config = config
        self.warmup_start_ns, self.emit_after_ns = warmup_bounds_ns(dt, start_time)
        self.width_ns = config.cell_width_ns
        self.engine = AbsoluteTickEngine(
            config.n_absolute_ticks,
            config.tick_int,
            auto_anchor_from_bbo=False,
            fail_on_out_of_range=fail_on_out_of_range,
            fix_reference_defects=fix_reference_defects,
        )
        self.engine.set_bin_width(self.width_ns)
        self.engine.use_core_anchoring(et_to_ns(dt, SOFT_REANCHOR_ET), SOFT_REANCHOR_AFTER_EVENTS)
        self.bin_seq = 0
        self.bin_end_ns = self.emit_after_ns + self.width_ns
        self.bin_event_count = 0

    def feed(self, events: np.ndarray) -> Iterator[CoreBin]:
        """Process one chunk of records; yield the bins it closes."""
        i, n = 0, events.shape[0]
        while i < n:
            i, counted = self.engine.run_until(
                events,
                i,
                n,
                skip_before=self.warmup_start_ns,
                warm_before=self.emit_after_ns,
                bin_end=self.bin_end_ns,
            )
            self.bin_event_count += counted
            if i < n:
                yield self._emit()

    def finish(self) -> Iterator[CoreBin]:
        """End of data: emit the last partial bin if it holds records."""
        if self.bin_event_count > 0:
            yield self._emit()

    def _emit(self) -> CoreBin:
        engine = self.engine
        bin_end = self.bin_end_ns
        engine.advance_time(bin_end)
        top = engine.top()
        anchor = engine.anchor_tick_idx
        header = BinHeader(
            bin_seq=self.bin_seq,
            bin_start_ns=bin_end - self.width_ns,
            bin_end_ns=bin_end,
            bin_event_count=self.bin_event_count,
            event_id=engine.event_count,
            mid_price=top.mid_price,
            spot_ref_price_int=top.spot_ref_price_int,
            best_bid_price_int=top.best_bid_price_int,
            best_ask_price_int=top.best_ask_price_int,
            book_valid=top.book_valid,
        )
        self.bin_seq += 1
        self.bin_end_ns += self.width_ns
        self.bin_event_count = 0
        return CoreBin(
            header=header,
            fields=engine.F,
            last_event_id=engine.TE,
            anchor_tick_idx=anchor,
            tick_int=engine.tick_int,
            tick_abs_start=anchor - engine.n_ticks // 2 if anchor >= 0 else 0,
            n_rows=engine.n_ticks,
        )


def stream_core_events(pipeline: CorePipeline, chunks: Iterable[np.ndarray]) -> Iterator[CoreBin]:
    """Run the core pipeline over record chunks to the end of data."""
    for chunk in chunks:
        yield from pipeline.feed(chunk)
    yield from pipeline.finish()
