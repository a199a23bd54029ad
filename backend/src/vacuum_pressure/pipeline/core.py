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
from ..timeutil import et_to_ns
from .binning import BinnedPipeline, drive
from .frames import CoreBin

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

    def _emit(self) -> CoreBin:
        engine = self.engine
        bin_end = self.bin_end_ns
        engine.advance_time(bin_end)
        top = engine.top()
        anchor = engine.anchor_tick_idx
        header = self._close_bin(top, top.spot_ref_price_int, top.mid_price)
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
    return drive(pipeline, chunks)
