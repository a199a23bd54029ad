"""The fixed-width bin clock shared by the serve and core paths (SPEC 7, 11.4)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

import numpy as np

from ..engine import AbsoluteTickEngine
from ..timeutil import warmup_bounds_ns
from .frames import BinHeader

FrameT = TypeVar("FrameT")

_new_header = tuple.__new__  # BinHeader(*fields) without the named tuple's Python __new__


class BinnedPipeline(Generic[FrameT]):
    """Records run through the engine until one belongs to a later bin; then every finished
    bin is emitted in order (empty ones too) by ``_emit``. Bins are
    ``[emit_after + i*w, emit_after + (i+1)*w)``; records before the warmup start are dropped,
    those before ``emit_after`` are warmup; the final partial bin is emitted only if it holds
    records."""

    engine: AbsoluteTickEngine

    def _init_clock(self, dt: str, start_time: str, width_ns: int) -> None:
        self.warmup_start_ns, self.emit_after_ns = warmup_bounds_ns(dt, start_time)
        self.width_ns = width_ns
        self.bin_seq = 0
        self.bin_end_ns = self.emit_after_ns + width_ns
        self.bin_event_count = 0
        self.engine.set_bin_width(width_ns)

    def _run_bins(self, events: np.ndarray, start: int) -> Iterator[FrameT]:
        i, n = start, events.shape[0]
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

    def feed(self, events: np.ndarray) -> Iterator[FrameT]:
        """Process one chunk of records (EVENT_DTYPE, file order); yield the bins it closes."""
        return self._run_bins(events, 0)

    def finish(self) -> Iterator[FrameT]:
        """End of data: emit the last partial bin if it holds records."""
        if self.bin_event_count > 0:
            yield self._emit()

    def _emit(self) -> FrameT:
        raise NotImplementedError

    def _close_bin(
        self, event_id: int, mid: float, spot: int, best_bid: int, best_ask: int, valid: bool
    ) -> BinHeader:
        """The header of the bin ending now (top of book after ``event_id``); advances the
        clock to the next bin. Called once per bin on every path, so built without the named
        tuple's Python ``__new__``."""
        end = self.bin_end_ns
        header = _new_header(
            BinHeader,
            (
                self.bin_seq,
                end - self.width_ns,  # bin_start_ns
                end,  # bin_end_ns
                self.bin_event_count,
                event_id,
                mid,  # mid_price
                spot,  # spot_ref_price_int
                best_bid,
                best_ask,
                valid,  # book_valid
            ),
        )
        self.bin_seq += 1
        self.bin_end_ns = end + self.width_ns
        self.bin_event_count = 0
        return header


def drive(pipeline: BinnedPipeline[FrameT], chunks: Iterable[np.ndarray]) -> Iterator[FrameT]:
    """Run a pipeline over record chunks to the end of data."""
    for chunk in chunks:
        yield from pipeline.feed(chunk)
    yield from pipeline.finish()
