"""Python port of the page's composite signal (SPEC 9): ADS, PFP, SVac and their blend.

``page_signals`` computes every bin of a series at once; bin t only depends on bins <= t, so the
values equal what the browser's ``ExperimentEngine`` shows after the same sequence of grids. The
constants mirror frontend/src/experiment-*.ts; the shared fixture fixtures/signals/ pins both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import VPError
from . import signals_kernel as kern

ADS_BANDS = ((1, 3), (4, 11), (12, 23))
"""|k| bands of ADS, inclusive."""
ADS_SLOPE_WINDOWS_MS = (1000, 2500, 5000)
ADS_SLOPE_WEIGHTS = (0.4, 0.35, 0.25)
ADS_Z_WINDOW_MS = 20000
ADS_WARMUP_MS = 20000
ADS_TANH_SCALE = 3.0
PFP_INNER = (1, 3)
PFP_OUTER = (5, 12)
PFP_LAG_MS = 500
PFP_EMA_ALPHA = 0.1
PFP_EPS = 1e-12
PFP_ADD_WEIGHT = 0.6
PFP_PULL_WEIGHT = 0.4
SVAC_EMA_ALPHA = 0.05
SVAC_FLOOR = 1e-6
COMPOSITE_WEIGHTS = (0.4, 0.3, 0.3)
"""ADS, PFP, SVac weights of the composite (renormalised over the warm signals)."""


def ms_to_bins(ms: float, cell_width_ms: float, min_bins: int) -> int:
    """``max(min_bins, ceil(ms / cell_width_ms))``."""
    if not cell_width_ms > 0:
        raise VPError(f"cell_width_ms {cell_width_ms!r} is invalid: expected > 0")
    return max(min_bins, math.ceil(ms / cell_width_ms))


@dataclass(frozen=True)
class SignalWindows:
    """Bin counts derived from the cell width (the fixture's ``derived`` block)."""

    slope_windows_bins: tuple[int, ...]
    z_window_bins: int
    z_min_periods: int
    ads_warmup_bins: int
    pfp_lag_bins: int

    @classmethod
    def for_cell_width(cls, cell_width_ms: float) -> SignalWindows:
        """The windows the page uses at ``cell_width_ms``."""
        z_window = ms_to_bins(ADS_Z_WINDOW_MS, cell_width_ms, 2)
        return cls(
            tuple(ms_to_bins(ms, cell_width_ms, 2) for ms in ADS_SLOPE_WINDOWS_MS),
            z_window,
            max(2, math.floor(0.15 * z_window)),
            ms_to_bins(ADS_WARMUP_MS, cell_width_ms, 1),
            ms_to_bins(PFP_LAG_MS, cell_width_ms, 1),
        )


@dataclass(frozen=True)
class PageSignals:
    """Per-bin signal values (arrays of length n_bins unless noted)."""

    ads: np.ndarray
    ads_warm: np.ndarray
    ads_asymmetry: np.ndarray
    ads_slopes: np.ndarray  # (n_bins, 3)
    ads_z: np.ndarray  # (n_bins, 3)
    pfp: np.ndarray
    pfp_warm: np.ndarray
    pfp_leads: np.ndarray  # (n_bins, 4): bid_add, ask_add, bid_pull, ask_pull
    svac: np.ndarray
    svac_raw: np.ndarray
    composite: np.ndarray
    warmup_fraction: np.ndarray


def ads_band_weights() -> np.ndarray:
    """1/sqrt(band width), normalised to sum 1 (summed in band order)."""
    raw = [1.0 / math.sqrt(hi - lo + 1) for lo, hi in ADS_BANDS]
    total = 0.0
    for w in raw:
        total += w
    return np.array([w / total for w in raw])


def page_signals(
    k: np.ndarray,
    v_add: np.ndarray,
    v_pull: np.ndarray,
    v_fill: np.ndarray,
    vacuum_variant: np.ndarray,
    cell_width_ms: float,
) -> PageSignals:
    """ADS, PFP, SVac and the composite for a series of grids.

    ``k`` is (rows,) in ticks from spot; the other inputs are (n_bins, rows) float64, rows in
    ``k`` order. ``cell_width_ms`` converts the signals' millisecond windows to bins.
    """
    k = np.ascontiguousarray(k, dtype=np.int64)
    mats = [np.ascontiguousarray(m, dtype=np.float64) for m in (v_add, v_pull, v_fill)]
    vac = np.ascontiguousarray(vacuum_variant, dtype=np.float64)
    for m in (*mats, vac):
        if m.ndim != 2 or m.shape[1] != k.shape[0]:
            raise VPError(
                f"signal input of shape {m.shape} is invalid: expected (n_bins, {k.size})"
            )
    add, pull, fill = mats
    win = SignalWindows.for_cell_width(cell_width_ms)
    n = add.shape[0]
    asym = kern.ads_asymmetry(k, add, pull, np.array(ADS_BANDS, np.int64), ads_band_weights())
    slopes = np.zeros((n, 3))
    z = np.zeros((n, 3))
    for i, w in enumerate(win.slope_windows_bins):
        slopes[:, i] = kern.rolling_slope(asym, w)
        z[:, i] = kern.rolling_robust_z(slopes[:, i], win.z_window_bins, win.z_min_periods)
    ads_warm = np.arange(1, n + 1) >= win.ads_warmup_bins
    ads = np.zeros(n)
    for i in range(3):
        # Accumulated term by term, as the page does.
        ads = ads + ADS_SLOPE_WEIGHTS[i] * np.tanh(z[:, i] / ADS_TANH_SCALE)
    ads = np.where(ads_warm, ads, 0.0)
    pfp, pfp_warm, leads = kern.pfp_series(
        k,
        add,
        pull,
        fill,
        PFP_INNER[0],
        PFP_INNER[1],
        PFP_OUTER[0],
        PFP_OUTER[1],
        win.pfp_lag_bins,
        PFP_EMA_ALPHA,
        PFP_EPS,
        PFP_ADD_WEIGHT,
        PFP_PULL_WEIGHT,
    )
    svac, svac_raw = kern.svac_series(k, vac, SVAC_EMA_ALPHA, SVAC_FLOOR)
    svac_warm = np.ones(n, dtype=bool)
    weighted = np.zeros(n)
    weight_sum = np.zeros(n)
    warm_count = np.zeros(n)
    for value, warm, weight in (
        (ads, ads_warm, COMPOSITE_WEIGHTS[0]),
        (pfp, pfp_warm, COMPOSITE_WEIGHTS[1]),
        (svac, svac_warm, COMPOSITE_WEIGHTS[2]),
    ):
        weighted = np.where(warm, weighted + weight * value, weighted)
        weight_sum = np.where(warm, weight_sum + weight, weight_sum)
        warm_count += warm
    composite = np.divide(weighted, weight_sum, out=np.zeros(n), where=weight_sum > 0)
    return PageSignals(
        ads=ads,
        ads_warm=ads_warm,
        ads_asymmetry=asym,
        ads_slopes=slopes,
        ads_z=z,
        pfp=pfp,
        pfp_warm=pfp_warm,
        pfp_leads=leads,
        svac=svac,
        svac_raw=svac_raw,
        composite=composite,
        warmup_fraction=warm_count / 3.0,
    )
