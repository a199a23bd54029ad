"""Serve path (SPEC 7, 11): fixed-width bins, spectrum, spot-centred window.

Phases, driven by record time ``ts`` (ns):

1. book: records before the warmup start change only the order map and depth; the scan stops
   at the first record at or after the warmup start. Then the anchor is reset to the grid BBO
   mid, depth is rebuilt and every tick's rest_depth set (this state is what the book cache
   stores; ``restore_book`` starts here instead).
2. warmup (``warmup_start <= ts < emit_after``): full mechanics, no bins, no passive advance.
3. bins from ``emit_after``: when a record at or past ``bin_end`` arrives, every finished bin
   is emitted in order (empty ones too): passive advance to bin_end, read BBO/spot, spectrum
   update (rollup and derivatives over the full grid, scores for the served window's cells; no
   cell when there is no spot), cut the window. The final partial bin is emitted only if it holds
   records. Records before the warmup start met after the book phase are dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ..config import InstrumentConfig
from ..engine import AbsoluteTickEngine
from ..engine.kernels import PRESSURE, VACUUM
from ..spectrum import ProjectionModel, SpectrumKernel
from .binning import BinnedPipeline, drive
from .frames import WIRE_FIELD_ROWS, ServeBin

logger = logging.getLogger(__name__)

_PHASE_BOOK = 0
_PHASE_STREAM = 1


class ServePipeline(BinnedPipeline[ServeBin]):
    """Incremental serve-path pipeline: feed it record chunks, it yields ``ServeBin`` frames.

    Args:
        config: the locked instrument config.
        dt: session date ``YYYY-MM-DD``.
        start_time: ET ``HH:MM``; bins start there, warmup 30 minutes earlier.
        projection: projection model overrides (cubic term, damping).
        fix_reference_defects: the documented fixes of the reference's defects (off = parity).
        fail_on_out_of_range: raise on prices outside the grid instead of skipping them.
    """

    def __init__(
        self,
        config: InstrumentConfig,
        dt: str,
        start_time: str,
        *,
        projection: ProjectionModel | None = None,
        fix_reference_defects: bool = False,
        fail_on_out_of_range: bool = False,
    ) -> None:
        self.config = config
        self.radius = config.grid_radius_ticks
        self.engine = AbsoluteTickEngine(
            config.n_absolute_ticks,
            config.tick_int,
            fail_on_out_of_range=fail_on_out_of_range,
            fix_reference_defects=fix_reference_defects,
        )
        self._init_clock(dt, start_time, config.cell_width_ns)
        self.spectrum = SpectrumKernel(
            config.n_absolute_ticks, config, projection or ProjectionModel()
        )
        self.horizons_ms = tuple(config.projection_horizons_ms)
        self.phase = _PHASE_BOOK
        self._k = np.arange(-self.radius, self.radius + 1, dtype=np.int32)
        self._k.flags.writeable = False  # the same row offsets in every frame

    # -- phases ------------------------------------------------------------------------------
    def _finish_book(self) -> None:
        self.engine.reanchor_to_grid_bbo()
        self.engine.sync_rest_depth()
        self.phase = _PHASE_STREAM
        logger.info(
            "book ready at warmup start: %d orders, anchor tick %d, %d records",
            self.engine.order_count,
            self.engine.anchor_tick_idx,
            self.engine.event_count,
        )

    def restore_book(self, state: dict[str, np.ndarray]) -> None:
        """Start from a book-cache state (the engine right after the book phase)."""
        self.engine.import_state(state)
        self.phase = _PHASE_STREAM

    @property
    def book_ready(self) -> bool:
        """True once the book phase is over (the engine state is what the book cache holds)."""
        return self.phase == _PHASE_STREAM

    # -- driving -------------------------------------------------------------------------------
    def feed(self, events: np.ndarray) -> Iterator[ServeBin]:
        """Process one chunk of records (EVENT_DTYPE, file order); yield the bins it closes."""
        i = 0
        if self.phase == _PHASE_BOOK:
            i = self.engine.apply_book_only(events, 0, events.shape[0], self.warmup_start_ns)
            if i == events.shape[0]:
                return
            self._finish_book()
        yield from self._run_bins(events, i)

    def finish(self) -> Iterator[ServeBin]:
        """End of data: close the book phase if needed and emit the last partial bin."""
        if self.phase == _PHASE_BOOK:
            self._finish_book()
        yield from super().finish()

    def _emit(self) -> ServeBin:
        engine = self.engine
        bin_end = self.bin_end_ns
        engine.advance_time(bin_end)
        # The spot is read before the spectrum update (neither reads the other's state) so that
        # the spectrum computes only the served window's cells.
        top = engine.top()
        radius = self.radius
        center = engine.price_to_idx(top.spot_ref_price_int) if top.spot_ref_price_int > 0 else -1
        lo = max(0, center - radius)
        hi = min(engine.n_ticks, center + radius + 1)
        window = (lo, hi) if center >= 0 else (0, 0)
        spec = self.spectrum.update(bin_end, engine.F[PRESSURE], engine.F[VACUUM], window=window)
        rows = 2 * radius + 1
        fields = np.zeros((len(WIRE_FIELD_ROWS), rows), dtype=np.float64)
        score = np.zeros(rows, dtype=np.float64)
        state = np.zeros(rows, dtype=np.int8)
        last_event_id = np.zeros(rows, dtype=np.int64)
        projections = np.zeros((len(self.horizons_ms), rows), dtype=np.float64)
        spot, mid = top.spot_ref_price_int, top.mid_price
        if center < 0:
            spot, mid = 0, 0.0
        else:
            a, b = lo - (center - radius), hi - (center - radius)
            fields[:, a:b] = engine.F[WIRE_FIELD_ROWS, lo:hi]
            score[a:b] = spec.score[lo:hi]
            state[a:b] = spec.state_code[lo:hi]
            last_event_id[a:b] = engine.TE[lo:hi]
            projections[:, a:b] = spec.projections[:, lo:hi]
        header = self._close_bin(
            engine.event_count,
            mid,
            spot,
            top.best_bid_price_int,
            top.best_ask_price_int,
            top.book_valid,
        )
        return ServeBin(
            header, self._k, fields, score, state, last_event_id, projections, self.horizons_ms
        )

    def export_state(self) -> dict[str, Any]:
        """Everything needed to resume exactly from here (engine, spectrum, bin clock)."""
        return {
            "engine": self.engine.export_state(),
            "spectrum": self.spectrum.export_state(),
            "clock": np.array(
                [self.phase, self.bin_seq, self.bin_end_ns, self.bin_event_count], dtype=np.int64
            ),
        }

    def import_state(self, state: dict[str, Any]) -> None:
        """Resume from ``export_state`` output."""
        self.engine.import_state(state["engine"])
        self.spectrum.import_state(state["spectrum"])
        phase, seq, end, count = (int(x) for x in state["clock"])
        self.phase, self.bin_seq, self.bin_end_ns, self.bin_event_count = phase, seq, end, count


def iter_serve_bins(pipeline: ServePipeline, chunks: Iterable[np.ndarray]) -> Iterator[ServeBin]:
    """Run the serve pipeline over record chunks to the end of data."""
    return drive(pipeline, chunks)
