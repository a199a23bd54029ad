"""A deliberately plain NumPy statement of the reference spectrum (SPEC 6, SPEC 11 items 5 and 9).

This is the test oracle: full ``np.median`` over the whole trailing window on every update, the
same operation order as the reference system, no shortcuts. It is slow (hundreds of ms per update
on the full grid) and exists only so that the fast kernel can be compared with it bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vacuum_pressure.config import InstrumentConfig
from vacuum_pressure.spectrum import DEFAULT_PROJECTION, ProjectionModel


def _normalised(weights: Sequence[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return w / float(w.sum())


def _sanitise(x: np.ndarray) -> np.ndarray:
    return np.clip(np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)


class OracleSpectrum:
    """Reference formulation; ``update`` returns fresh (score, state_code, projections) arrays."""

    def __init__(
        self,
        n_cells: int,
        *,
        windows: Sequence[int],
        rollup_weights: Sequence[float],
        derivative_weights: Sequence[float],
        tanh_scale: float,
        threshold_neutral: float,
        zscore_window_bins: int,
        zscore_min_periods: int,
        horizons_ms: Sequence[int],
        cell_width_ms: int,
        use_cubic: bool = False,
        cubic_scale: float = 1.0 / 6.0,
        damping_lambda: float = 0.0,
    ) -> None:
        n = n_cells
        self.windows = [int(w) for w in windows]
        self.rw = _normalised(rollup_weights)
        self.dw = _normalised(derivative_weights)
        self.tanh_scale = float(tanh_scale)
        self.threshold = float(threshold_neutral)
        self.zwin = int(zscore_window_bins)
        self.zmin = int(zscore_min_periods)
        self.horizons_ms = [int(h) for h in horizons_ms]
        self.default_dt = cell_width_ms / 1000.0
        self.use_cubic = use_cubic
        self.cubic_scale = cubic_scale
        self.damping_lambda = damping_lambda

        self.cap = max(max(self.windows), 3)
        self.ring = np.zeros((self.cap, n), dtype=np.float64)
        self.sums = np.zeros((len(self.windows), n), dtype=np.float64)
        self.write_idx = 0
        self.count = 0

        self.hist = [np.zeros((self.zwin, n), dtype=np.float64) for _ in range(3)]
        self.hist_idx = [0, 0, 0]
        self.hist_count = [0, 0, 0]

        self.prev_ts: int | None = None
        self.prev_rolled: np.ndarray | None = None
        self.prev_d1: np.ndarray | None = None
        self.prev_d2: np.ndarray | None = None
        self.prev_score: np.ndarray | None = None
        self.prev_s1: np.ndarray | None = None
        self.prev_s2: np.ndarray | None = None

    def _robust_z(self, c: int, x: np.ndarray) -> np.ndarray:
        hist = self.hist[c]
        hist[self.hist_idx[c]] = x
        self.hist_idx[c] = (self.hist_idx[c] + 1) % self.zwin
        self.hist_count[c] = min(self.hist_count[c] + 1, self.zwin)
        if self.hist_count[c] < self.zmin:
            return np.zeros_like(x)
        n_valid = min(self.zwin, self.hist_count[c])
        window = hist[:n_valid] if n_valid < self.zwin else hist
        med = np.median(window, axis=0)
        mad = np.median(np.abs(window - med), axis=0)
        scale = 1.4826 * mad
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(scale > 1e-9, (x - med) / scale, 0.0)

    def update(self, ts_ns: int, p: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, ...]:
        with np.errstate(all="ignore"):
            return self._update(ts_ns, p, v)

    def _update(self, ts_ns: int, p: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, ...]:
        composite = (p - v) / (np.abs(p) + np.abs(v) + 1e-12)

        for j, w in enumerate(self.windows):
            if self.count >= w:
                self.sums[j] -= self.ring[(self.write_idx - w) % self.cap]
            self.sums[j] += composite
        self.ring[self.write_idx] = composite
        self.write_idx = (self.write_idx + 1) % self.cap
        self.count = min(self.count + 1, self.cap)
        rolled = np.zeros_like(composite)
        for j, w in enumerate(self.windows):
            c = min(self.count, w)
            if c > 0:
                rolled += self.rw[j] * (self.sums[j] / float(c))

        dt = self.default_dt
        if self.prev_ts is not None and ts_ns > self.prev_ts:
            dt = (ts_ns - self.prev_ts) / 1e9
        if dt <= 0:
            dt = self.default_dt

        zeros = np.zeros_like(rolled)
        d1 = zeros if self.prev_rolled is None else (rolled - self.prev_rolled) / dt
        d2 = zeros if self.prev_d1 is None else (d1 - self.prev_d1) / dt
        d3 = zeros if self.prev_d2 is None else (d2 - self.prev_d2) / dt

        z1 = self._robust_z(0, d1)
        z2 = self._robust_z(1, d2)
        z3 = self._robust_z(2, d3)
        dw0, dw1, dw2 = self.dw
        # The golden capture shows the reference multiplies by the reciprocal (not z / scale).
        inv_scale = 1.0 / self.tanh_scale
        score = (
            dw0 * np.tanh(z1 * inv_scale)
            + dw1 * np.tanh(z2 * inv_scale)
            + dw2 * np.tanh(z3 * inv_scale)
        )
        norm = abs(dw0) + abs(dw1) + abs(dw2)
        if norm > 0:
            score = score / norm
        score = _sanitise(score)
        state = np.zeros(score.shape, dtype=np.int8)
        state[score >= self.threshold] = 1
        state[score <= -self.threshold] = -1

        s1 = zeros if self.prev_score is None else (score - self.prev_score) / dt
        s2 = zeros if self.prev_s1 is None else (s1 - self.prev_s1) / dt
        s3 = zeros if self.prev_s2 is None else (s2 - self.prev_s2) / dt
        projections = np.empty((len(self.horizons_ms), score.size), dtype=np.float64)
        for k, horizon_ms in enumerate(self.horizons_ms):
            h = horizon_ms / 1000.0
            proj = score + s1 * h + 0.5 * s2 * h * h
            if self.use_cubic:
                proj = proj + self.cubic_scale * s3 * h * h * h
            if self.damping_lambda > 0:
                proj = proj * np.exp(-self.damping_lambda * h)
            projections[k] = _sanitise(proj)

        self.prev_ts = ts_ns
        self.prev_rolled = rolled
        self.prev_d1, self.prev_d2 = d1, d2
        self.prev_score, self.prev_s1, self.prev_s2 = score, s1, s2
        return score, state, projections


def oracle_for(
    n_cells: int, config: InstrumentConfig, projection: ProjectionModel = DEFAULT_PROJECTION
) -> OracleSpectrum:
    """The oracle with the spectrum settings of ``config`` and the ``projection`` model."""
    return OracleSpectrum(
        n_cells,
        windows=config.spectrum_windows,
        rollup_weights=config.spectrum_rollup_weights,
        derivative_weights=config.spectrum_derivative_weights,
        tanh_scale=config.spectrum_tanh_scale,
        threshold_neutral=config.spectrum_threshold_neutral,
        zscore_window_bins=config.zscore_window_bins,
        zscore_min_periods=config.zscore_min_periods,
        horizons_ms=config.projection_horizons_ms,
        cell_width_ms=config.cell_width_ms,
        use_cubic=projection.use_cubic,
        cubic_scale=projection.cubic_scale,
        damping_lambda=projection.damping_lambda,
    )
