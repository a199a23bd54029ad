"""Per-cell spectrum scoring and projection (SPEC 6, SPEC 11 items 5 and 9).

``SpectrumKernel.update`` is called once per emitted bin with the full grid's pressure and vacuum
and returns the score, state code and projected scores, identical bit for bit to the reference
system's NumPy implementation (see ``spectrum_kernel`` for how the robust z avoids the
full-window median while staying exact): of every cell, or, in window mode, of the cells of the
requested window only (the serve path shows no others). The rollup, the derivatives and their
rings are kept for every cell either way; only the medians and the score chain are restricted to
the "tracked" cells (the window plus a hysteresis margin). A cell that becomes tracked gets its
sorted windows and its last three scores rebuilt exactly from its derivative rings, which keep
``W + 2`` samples for that purpose. The transcendental functions are NumPy's own
(``np.tanh`` on the compact list of non-zero scaled z, ``np.exp`` once per horizon), called here
rather than in numba, because NumPy's SIMD results may differ from libm in the last bit.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from . import spectrum_kernel as sk
from .config import InstrumentConfig
from .errors import VPError

logger = logging.getLogger(__name__)

_STATE_VERSION = 2

DEFAULT_TRACK_MARGIN = 8
"""Cells kept tracked beyond each side of the window (ticks), so that a spot oscillating by a
few ticks does not make cells leave and re-enter (each entry rebuilds ~W + 2 samples x 3)."""


class SpectrumError(VPError, ValueError):
    """Invalid spectrum input: cell count, projection model, array shape or imported state."""


@dataclass(frozen=True)
class ProjectionModel:
    """Score projection options (SPEC 6 step 8); the defaults reproduce the reference serve path."""

    use_cubic: bool = False
    """Add ``cubic_scale * s3 * h^3`` (s3 = third difference of the score)."""
    cubic_scale: float = 1.0 / 6.0
    """Weight of the cubic term."""
    damping_lambda: float = 0.0
    """Multiply projections by ``exp(-damping_lambda * h)`` when > 0 (h in seconds)."""

    def __post_init__(self) -> None:
        for name in ("cubic_scale", "damping_lambda"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise SpectrumError(
                    f"projection_{name} {value!r} is invalid: expected a finite number >= 0"
                )


DEFAULT_PROJECTION = ProjectionModel()
"""The reference serve path's projection model (no cubic term, no damping)."""


@dataclass(frozen=True)
class SpectrumFrame:
    """One update's outputs: views into preallocated buffers, valid until the next update."""

    score: np.ndarray
    """float64[n_cells] in [-1, 1]."""
    state_code: np.ndarray
    """int8[n_cells]: +1 pressure, -1 vacuum, 0 neutral."""
    projections: np.ndarray
    """float64[n_horizons, n_cells], rows in ``config.projection_horizons_ms`` order."""


def _read_only(arr: np.ndarray) -> np.ndarray:
    view = arr.view()
    view.flags.writeable = False
    return view


def _normalised(weights: tuple[float, ...]) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return w / float(w.sum())


class SpectrumKernel:
    """Stateful per-cell spectrum over ``n_cells`` absolute ticks; one ``update`` per bin."""

    def __init__(
        self,
        n_cells: int,
        config: InstrumentConfig,
        projection: ProjectionModel = ProjectionModel(),
        *,
        track_margin: int = DEFAULT_TRACK_MARGIN,
    ) -> None:
        if n_cells < 1:
            raise SpectrumError(f"n_cells = {n_cells} is invalid: expected an integer >= 1")
        if track_margin < 0:
            raise SpectrumError(f"track_margin = {track_margin} is invalid: expected ticks >= 0")
        self.n_cells = n_cells
        self.track_margin = int(track_margin)
        self.config = config
        self.projection = projection

        self._windows = tuple(int(w) for w in config.spectrum_windows)
        self._rollup_weights = _normalised(config.spectrum_rollup_weights)
        dw = _normalised(config.spectrum_derivative_weights)
        self._w = (float(dw[0]), float(dw[1]), float(dw[2]))
        self._norm = abs(self._w[0]) + abs(self._w[1]) + abs(self._w[2])
        # The golden capture is reproduced only by tanh(z * (1 / scale)), not tanh(z / scale).
        self._inv_tanh_scale = 1.0 / config.spectrum_tanh_scale
        self._threshold = float(config.spectrum_threshold_neutral)
        self._z_window = int(config.zscore_window_bins)
        self._min_periods = int(config.zscore_min_periods)
        self._default_dt_s = config.cell_width_ms / 1000.0
        self._horizons_s = np.array(
            [h / 1000.0 for h in config.projection_horizons_ms], dtype=np.float64
        )
        # np.exp on the same Python floats as the reference, once.
        self._damping = np.array(
            [np.exp(-projection.damping_lambda * h) for h in self._horizons_s.tolist()],
            dtype=np.float64,
        )
        self._comp_cap = max(max(self._windows), 3)

        n, w = n_cells, self._z_window
        self._comp_ring = np.zeros((self._comp_cap, n), dtype=np.float64)
        self._sums = np.zeros((len(self._windows), n), dtype=np.float64)
        self._comp_write_idx = 0
        self._comp_count = 0
        self._prev_ts_ns: int | None = None
        self._prev_rolled = np.zeros(n, dtype=np.float64)
        self._prev_d1 = np.zeros(n, dtype=np.float64)
        self._prev_d2 = np.zeros(n, dtype=np.float64)
        self._prev_score = np.zeros(n, dtype=np.float64)
        self._prev_s1 = np.zeros(n, dtype=np.float64)
        self._prev_s2 = np.zeros(n, dtype=np.float64)
        self._step = 0
        # W + 2 samples: a newly tracked cell's windows of the last PAST_STEPS steps.
        self._d_ring = np.zeros((3, w + sk.PAST_STEPS - 1, n), dtype=np.float64)
        self._dt_hist = np.zeros(sk.PAST_STEPS - 1, dtype=np.float64)  # dt (s) of step-1, -2
        self._last_big = np.full((3, n), sk.NEVER, dtype=np.int64)
        self._last_nan = np.full((3, n), sk.NEVER, dtype=np.int64)
        # Sorted windows are touched only for live cells; np.empty keeps the rest unmapped.
        self._sorted = np.empty((3, n, w), dtype=np.float64)
        self._sorted_start = np.zeros((3, n), dtype=np.int64)
        self._sorted_valid = np.zeros((3, n), dtype=np.bool_)
        # Tracked cells [lo, hi): medians and score chain kept; all cells in full mode.
        self._track_lo = 0
        self._track_hi = 0
        self._gathered = np.zeros(w + sk.PAST_STEPS, dtype=np.float64)

        # A cell is frozen (skipped) after this many all-zero inputs: its composites have left
        # every rollup window, then its d1..d3, their z window and the score chain are all 0.
        self._freeze_after = self._comp_cap + w + 16
        self._zero_run = np.full(n, self._freeze_after + 1, dtype=np.int64)
        self._active = np.zeros(n, dtype=np.int64)

        self._d = np.zeros((3, n), dtype=np.float64)
        self._tanh = np.zeros((3, n), dtype=np.float64)
        self._nz_index = np.zeros(3 * n, dtype=np.int64)
        self._nz_value = np.zeros(3 * n, dtype=np.float64)
        self._nz_tanh = np.zeros(3 * n, dtype=np.float64)
        self._score = np.zeros(n, dtype=np.float64)
        self._state = np.zeros(n, dtype=np.int8)
        self._proj = np.zeros((len(self._horizons_s), n), dtype=np.float64)
        self._frame = SpectrumFrame(
            score=_read_only(self._score),
            state_code=_read_only(self._state),
            projections=_read_only(self._proj),
        )
        self.last_active = 0
        """Cells processed by the last update (the others were frozen at zero; diagnostics)."""
        self.last_evaluated = 0
        """(channel, cell) medians evaluated by the last update (diagnostics)."""
        self.last_entered = 0
        """Cells that became tracked in the last update (their history was rebuilt)."""

    def update(
        self,
        ts_ns: int,
        pressure: np.ndarray,
        vacuum: np.ndarray,
        window: tuple[int, int] | None = None,
    ) -> SpectrumFrame:
        """Advance one bin ending at ``ts_ns`` (ns) with per-cell pressure/vacuum (float64[n]).

        ``window = (lo, hi)`` (cell indices, ``0 <= lo <= hi <= n_cells``) asks only for the
        cells ``lo <= i < hi``: their score, state code and projections are exact (identical to
        a full update), the other cells' are unspecified (0 for cells not tracked). An empty
        window asks for nothing and keeps tracking the same cells. ``None`` computes every cell.
        The returned arrays are read-only views overwritten by the next call; copy them to keep
        them.
        """
        p = self._as_cells("pressure", pressure)
        v = self._as_cells("vacuum", vacuum)
        self._retrack(*self._track_range(window))
        first = self._prev_ts_ns is None

        dt_s = self._default_dt_s
        if self._prev_ts_ns is not None and ts_ns > self._prev_ts_ns:
            dt_s = (ts_ns - self._prev_ts_ns) / 1e9
        if dt_s <= 0:
            dt_s = self._default_dt_s

        count_before = self._comp_count
        write_idx = self._comp_write_idx
        old_slots = np.array(
            [(write_idx - w) % self._comp_cap if count_before >= w else -1 for w in self._windows],
            dtype=np.int64,
        )
        count_after = min(count_before + 1, self._comp_cap)
        counts = np.array([float(min(count_after, w)) for w in self._windows], dtype=np.float64)
        n_active = sk.rollup_derivatives(
            p,
            v,
            self._comp_ring,
            self._sums,
            write_idx,
            old_slots,
            counts,
            self._rollup_weights,
            first,
            dt_s,
            self._prev_rolled,
            self._prev_d1,
            self._prev_d2,
            self._zero_run,
            self._freeze_after,
            self._d,
            self._active,
        )
        self._comp_write_idx = (write_idx + 1) % self._comp_cap
        self._comp_count = count_after

        n_nz, self.last_evaluated = sk.robust_z_scaled(
            self._d,
            self._active,
            n_active,
            self._d_ring,
            self._sorted,
            self._sorted_start,
            self._sorted_valid,
            self._last_big,
            self._last_nan,
            self._step,
            self._min_periods,
            self._inv_tanh_scale,
            self._track_lo,
            self._track_hi,
            self._tanh,
            self._nz_index,
            self._nz_value,
        )
        # NumPy's tanh, as in the reference; it is element-wise, so the compact array gives the
        # same bits as the reference's full-grid call (tested).
        np.tanh(self._nz_value[:n_nz], out=self._nz_tanh[:n_nz])

        pm = self.projection
        sk.score_project(
            self._tanh,
            self._nz_index,
            self._nz_tanh,
            n_nz,
            self._active,
            n_active,
            self._track_lo,
            self._track_hi,
            self._w[0],
            self._w[1],
            self._w[2],
            self._norm,
            self._threshold,
            first,
            dt_s,
            self._horizons_s,
            pm.use_cubic,
            pm.cubic_scale,
            self._damping,
            pm.damping_lambda > 0,
            self._prev_score,
            self._prev_s1,
            self._prev_s2,
            self._score,
            self._state,
            self._proj,
        )
        self._prev_ts_ns = int(ts_ns)
        self._dt_hist[1:] = self._dt_hist[:-1]
        self._dt_hist[0] = dt_s
        self._step += 1
        self.last_active = n_active
        return self._frame

    def _track_range(self, window: tuple[int, int] | None) -> tuple[int, int]:
        """Cells to track for ``window``: the window plus up to ``track_margin`` cells kept on
        each side (hysteresis: a side grows only as far as the window, shrinks only beyond the
        margin)."""
        n = self.n_cells
        if window is None:
            return 0, n
        lo, hi = int(window[0]), int(window[1])
        if not 0 <= lo <= hi <= n:
            raise SpectrumError(
                f"window {window} is invalid: expected (lo, hi) with 0 <= lo <= hi <= {n}"
            )
        t_lo, t_hi = self._track_lo, self._track_hi
        if lo == hi:
            return t_lo, t_hi
        if t_lo >= t_hi or hi <= t_lo or lo >= t_hi:
            return lo, hi
        m = self.track_margin
        return min(max(t_lo, lo - m), lo), max(min(t_hi, hi + m), hi)

    def _retrack(self, lo: int, hi: int) -> None:
        """Make [lo, hi) the tracked cells: forget the ones leaving, rebuild the ones entering."""
        old_lo, old_hi = self._track_lo, self._track_hi
        self.last_entered = 0
        if (lo, hi) == (old_lo, old_hi):
            return
        for a, b in ((old_lo, min(old_hi, lo)), (max(old_lo, hi), old_hi)):
            if a < b:  # leaving: zero outputs, no sorted windows, zero chain (compact state)
                self._score[a:b] = 0.0
                self._state[a:b] = 0
                self._proj[:, a:b] = 0.0
                self._sorted_valid[:, a:b] = False
                self._prev_score[a:b] = 0.0
                self._prev_s1[a:b] = 0.0
                self._prev_s2[a:b] = 0.0
        cells = np.arange(lo, hi, dtype=np.int64)
        if old_lo < old_hi:
            cells = cells[(cells < old_lo) | (cells >= old_hi)]
        self._track_lo, self._track_hi = lo, hi
        self.last_entered = int(cells.size)
        if cells.size:
            self._rebuild_history(cells)

    def _rebuild_history(self, cells: np.ndarray) -> None:
        """Sorted windows and score chain of newly tracked ``cells``, exactly as if they had
        been tracked all along (from the derivative rings; frozen cells have zero history)."""
        frozen = self._zero_run[cells] > self._freeze_after
        n_list = 3 * sk.PAST_STEPS * cells.size
        index = np.empty(n_list, dtype=np.int64)
        value = np.empty(n_list, dtype=np.float64)
        n_nz = sk.past_scaled_z(
            cells,
            self._d_ring,
            self._sorted,
            self._sorted_start,
            self._sorted_valid,
            frozen,
            self._step,
            self._min_periods,
            self._inv_tanh_scale,
            self._gathered,
            index,
            value,
        )
        past_tanh = np.zeros((cells.size, sk.PAST_STEPS, 3), dtype=np.float64)
        # NumPy's tanh again, element-wise on the compact list as in ``update``.
        past_tanh.reshape(-1)[index[:n_nz]] = np.tanh(value[:n_nz])
        sk.past_score_chain(
            cells,
            past_tanh,
            self._step,
            self._dt_hist,
            self._w[0],
            self._w[1],
            self._w[2],
            self._norm,
            self._prev_score,
            self._prev_s1,
            self._prev_s2,
        )

    def _as_cells(self, name: str, values: np.ndarray) -> np.ndarray:
        arr = np.ascontiguousarray(values, dtype=np.float64)
        if arr.shape != (self.n_cells,):
            raise SpectrumError(
                f"{name} has shape {arr.shape}; expected ({self.n_cells},) float64 per cell"
            )
        return arr

    def export_state(self) -> dict[str, np.ndarray | int | float]:
        """Copy of everything needed to resume exactly (sorted windows are rebuilt on demand).

        The score chain is kept for the tracked cells only (``track_lo``/``track_hi``); the
        others' is zero and is rebuilt from the rings when they become tracked."""
        return {
            "version": _STATE_VERSION,
            "n_cells": self.n_cells,
            "step": self._step,
            "prev_ts_ns": -1 if self._prev_ts_ns is None else self._prev_ts_ns,
            "track_lo": self._track_lo,
            "track_hi": self._track_hi,
            "dt_hist": self._dt_hist.copy(),
            "comp_write_idx": self._comp_write_idx,
            "comp_count": self._comp_count,
            "comp_ring": self._comp_ring.copy(),
            "sums": self._sums.copy(),
            "prev_rolled": self._prev_rolled.copy(),
            "prev_d1": self._prev_d1.copy(),
            "prev_d2": self._prev_d2.copy(),
            "prev_score": self._prev_score.copy(),
            "prev_s1": self._prev_s1.copy(),
            "prev_s2": self._prev_s2.copy(),
            "d_ring": self._d_ring.copy(),
            "last_big": self._last_big.copy(),
            "last_nan": self._last_nan.copy(),
            "zero_run": self._zero_run.copy(),
        }

    def import_state(self, state: dict[str, np.ndarray | int | float]) -> None:
        """Restore a state from ``export_state`` of a kernel with the same n_cells and config."""
        expected_arrays = {
            "comp_ring": self._comp_ring,
            "sums": self._sums,
            "prev_rolled": self._prev_rolled,
            "prev_d1": self._prev_d1,
            "prev_d2": self._prev_d2,
            "prev_score": self._prev_score,
            "prev_s1": self._prev_s1,
            "prev_s2": self._prev_s2,
            "d_ring": self._d_ring,
            "dt_hist": self._dt_hist,
            "last_big": self._last_big,
            "last_nan": self._last_nan,
            "zero_run": self._zero_run,
        }
        scalars = (
            "version",
            "n_cells",
            "step",
            "prev_ts_ns",
            "comp_write_idx",
            "comp_count",
            "track_lo",
            "track_hi",
        )
        missing = sorted(set(expected_arrays).union(scalars) - set(state))
        if missing:
            raise SpectrumError(f"spectrum state lacks keys {missing}")
        if int(state["version"]) != _STATE_VERSION or int(state["n_cells"]) != self.n_cells:
            raise SpectrumError(
                f"spectrum state version {state['version']} for {state['n_cells']} cells does not "
                f"fit this kernel (version {_STATE_VERSION}, {self.n_cells} cells)"
            )
        for key, target in expected_arrays.items():
            arr = np.asarray(state[key])
            if arr.shape != target.shape or arr.dtype != target.dtype:
                raise SpectrumError(
                    f"spectrum state '{key}' has shape {arr.shape} dtype {arr.dtype}; expected "
                    f"{target.shape} {target.dtype} (same n_cells and spectrum config)"
                )
        step = int(state["step"])
        write_idx = int(state["comp_write_idx"])
        count = int(state["comp_count"])
        track_lo, track_hi = int(state["track_lo"]), int(state["track_hi"])
        if (
            step < 0
            or not 0 <= write_idx < self._comp_cap
            or not 0 <= count <= self._comp_cap
            or not 0 <= track_lo <= track_hi <= self.n_cells
        ):
            raise SpectrumError(
                f"spectrum state counters step={step} comp_write_idx={write_idx} "
                f"comp_count={count} track=[{track_lo}, {track_hi}) are out of range "
                f"(capacity {self._comp_cap}, {self.n_cells} cells)"
            )
        for key, target in expected_arrays.items():
            target[...] = np.asarray(state[key])
        self._step = step
        self._comp_write_idx = write_idx
        self._comp_count = count
        prev_ts = int(state["prev_ts_ns"])
        self._prev_ts_ns = None if step == 0 else prev_ts
        self._track_lo, self._track_hi = track_lo, track_hi
        self._sorted_valid[...] = False
        # Frozen tracked cells are not rewritten by the next update: their outputs are zero.
        self._score[...] = 0.0
        self._state[...] = 0
        self._proj[...] = 0.0
        logger.debug("spectrum state imported at step %d", step)
