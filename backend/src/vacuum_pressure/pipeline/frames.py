"""Typed columnar results of the pipelines (no dict per cell)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..engine.kernels import FIELD_NAMES

if TYPE_CHECKING:
    from .core import CorePipeline

WIRE_FLOAT_FIELDS = (*FIELD_NAMES[16:18], *FIELD_NAMES[:16])
"""Per-cell float columns in wire order (SPEC 8), after ``k``."""

WIRE_FIELD_ROWS = np.array([FIELD_NAMES.index(name) for name in WIRE_FLOAT_FIELDS])
"""Engine field rows in wire order."""

BIN_COLUMNS = (
    "ts_ns",
    "bin_seq",
    "bin_start_ns",
    "bin_end_ns",
    "bin_event_count",
    "event_id",
    "mid_price",
    "spot_ref_price_int",
    "best_bid_price_int",
    "best_ask_price_int",
    "book_valid",
)
"""Per-bin columns, in the order of the capture's bins.parquet."""


def projection_column_names(horizons_ms: tuple[int, ...]) -> list[str]:
    """``proj_score_h{ms}`` for each horizon."""
    return [f"proj_score_h{ms}" for ms in horizons_ms]


def grid_column_names(horizons_ms: tuple[int, ...]) -> list[str]:
    """Every per-cell column in wire order (SPEC 8)."""
    return [
        "k",
        *WIRE_FLOAT_FIELDS,
        "spectrum_score",
        "spectrum_state_code",
        "last_event_id",
        *projection_column_names(horizons_ms),
    ]


class BinHeader(NamedTuple):
    """One emitted bin's keys and top of book (ns and price_int units). A named tuple: one is
    made per bin on every path, and it is cheap to build."""

    bin_seq: int
    bin_start_ns: int
    bin_end_ns: int
    bin_event_count: int
    event_id: int
    mid_price: float
    spot_ref_price_int: int
    best_bid_price_int: int
    best_ask_price_int: int
    book_valid: bool

    @property
    def ts_ns(self) -> int:
        """The bin's timestamp: its end."""
        return self.bin_end_ns

    @property
    def book_health(self) -> str:
        """Data-health flag of ours (not a parity column): ``ok``, ``locked`` (bid == ask),
        ``crossed`` (bid > ask), ``one_sided`` or ``empty``. ``book_valid`` keeps the
        reference's meaning (it does not mean uncrossed) unless the fix switch is on."""
        bid, ask = self.best_bid_price_int, self.best_ask_price_int
        if bid > 0 and ask > 0:
            return "crossed" if bid > ask else "locked" if bid == ask else "ok"
        return "one_sided" if bid > 0 or ask > 0 else "empty"

    def as_dict(self) -> dict[str, int | float | bool]:
        """The header as plain Python values, keys in ``BIN_COLUMNS`` order."""
        return {name: getattr(self, name) for name in BIN_COLUMNS}


@dataclass(frozen=True)
class ServeBin:
    """Serve-path output of one bin: the ``2R+1`` rows around spot (k = -R..R).

    Arrays are fresh copies owned by the frame, except ``k`` (the same read-only row offsets
    in every frame). ``fields`` is (18, rows) in WIRE_FLOAT_FIELDS
    order; ``projections`` is (n_horizons, rows) in the config's horizon order.
    """

    header: BinHeader
    k: np.ndarray
    fields: np.ndarray
    spectrum_score: np.ndarray
    spectrum_state_code: np.ndarray
    last_event_id: np.ndarray
    projections: np.ndarray
    horizons_ms: tuple[int, ...]

    def columns(self) -> dict[str, np.ndarray]:
        """Per-cell columns by wire name, in wire order."""
        out: dict[str, np.ndarray] = {"k": self.k}
        for i, name in enumerate(WIRE_FLOAT_FIELDS):
            out[name] = self.fields[i]
        out["spectrum_score"] = self.spectrum_score
        out["spectrum_state_code"] = self.spectrum_state_code
        out["last_event_id"] = self.last_event_id
        for i, name in enumerate(projection_column_names(self.horizons_ms)):
            out[name] = self.projections[i]
        return out


class StaleFrameError(RuntimeError):
    """A core-path frame was read after the pipeline moved on (its arrays are views)."""


class CoreBin:
    """Core-path output of one bin: the full grid, as views into the engine's arrays that are
    valid until the next bin is produced (copy what you keep; reading later raises
    ``StaleFrameError``).

    The grid's passive advance is deferred (``AbsoluteTickEngine.defer_passive_advance``):
    ``fields`` applies the pending advances on first access, so values are exactly those of
    the eager advance, and a consumer that only reads headers pays nothing for them.
    ``fields`` is the engine's (18, n_ticks) array in engine order (``FIELD_NAMES``); row i is
    absolute tick ``tick_abs_start + i``.
    """

    __slots__ = ("_pipeline", "anchor_tick_idx", "header")

    def __init__(self, header: BinHeader, anchor_tick_idx: int, pipeline: CorePipeline) -> None:
        self.header = header
        self.anchor_tick_idx = anchor_tick_idx
        self._pipeline = pipeline

    @property
    def tick_int(self) -> int:
        return self._pipeline.config.tick_int

    @property
    def n_rows(self) -> int:
        return self._pipeline.config.n_absolute_ticks

    @property
    def tick_abs_start(self) -> int:
        """Absolute tick of row 0 (0 before the grid is anchored)."""
        anchor = self.anchor_tick_idx
        return anchor - self.n_rows // 2 if anchor >= 0 else 0

    @property
    def fields(self) -> np.ndarray:
        """(18, n_rows) per-tick floats in engine order, advanced to this bin's end."""
        return self._pipeline.frame_fields(self)

    @property
    def last_event_id(self) -> np.ndarray:
        """Per tick, the event id of its last touch."""
        return self._pipeline.frame_last_event_ids(self)

    def field(self, name: str) -> np.ndarray:
        """One engine field over the full grid, by name."""
        return self.fields[FIELD_NAMES.index(name)]
