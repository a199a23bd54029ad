"""Numba kernels of the page's signals (ADS, PFP, SVac), one pass over a whole bin series.

Each kernel is causal (bin t only reads bins <= t) and repeats the TypeScript modules'
(frontend/src/experiment-*.ts) float64 operation order exactly: sums in row order, two-pass OLS,
median/MAD robust z on a sorted copy, EMAs seeded by their first value.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def side_band_mean(k: np.ndarray, values: np.ndarray, side: int, lo: int, hi: int) -> float:
    """Mean of ``values`` over rows with ``lo <= side*k <= hi``, summed in row order; 0 if none."""
    total = 0.0
    count = 0
    for i in range(k.shape[0]):
        kk = k[i] * side
        if kk >= lo and kk <= hi:
            total += values[i]
            count += 1
    return total / count if count > 0 else 0.0


@numba.njit(cache=True)
def ols_slope(y: np.ndarray) -> float:
    """Two-pass OLS slope of ``y`` against 0..n-1; 0 for fewer than 2 points."""
    n = y.shape[0]
    if n < 2:
        return 0.0
    xbar = (n - 1) / 2.0
    ysum = 0.0
    for i in range(n):
        ysum += y[i]
    ybar = ysum / n
    num = 0.0
    den = 0.0
    for i in range(n):
        dx = i - xbar
        num += dx * (y[i] - ybar)
        den += dx * dx
    return num / den


@numba.njit(cache=True)
def _median_sorted(s: np.ndarray) -> float:
    n = s.shape[0]
    if n == 0:
        return 0.0
    mid = n >> 1
    if n % 2 == 1:
        return s[mid]
    return (s[mid - 1] + s[mid]) / 2.0


@numba.njit(cache=True)
def robust_z_last(window: np.ndarray) -> float:
    """Robust z of the last value against the window: (x - med) / (1.4826 MAD); 0 if tiny."""
    n = window.shape[0]
    if n == 0:
        return 0.0
    x = window[n - 1]
    med = _median_sorted(np.sort(window))
    dev = np.abs(window - med)
    scale = 1.4826 * _median_sorted(np.sort(dev))
    return (x - med) / scale if scale > 1e-12 else 0.0


@numba.njit(cache=True)
def rolling_slope(series: np.ndarray, window: int) -> np.ndarray:
    """OLS slope over the trailing ``window`` values at every bin (fewer while filling)."""
    n = series.shape[0]
    out = np.zeros(n)
    for t in range(n):
        lo = max(0, t + 1 - window)
        out[t] = ols_slope(series[lo : t + 1])
    return out


@numba.njit(cache=True)
def rolling_robust_z(series: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """Robust z of each value against its trailing ``window`` (itself included); 0 until
    ``min_periods`` values are held."""
    n = series.shape[0]
    out = np.zeros(n)
    for t in range(n):
        lo = max(0, t + 1 - window)
        if t + 1 - lo < min_periods:
            continue
        out[t] = robust_z_last(series[lo : t + 1])
    return out


@numba.njit(cache=True)
def ads_asymmetry(
    k: np.ndarray, v_add: np.ndarray, v_pull: np.ndarray, bands: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Per bin: sum_b w_b (addBid - addAsk + pullAsk - pullBid) over the |k| bands."""
    n = v_add.shape[0]
    out = np.zeros(n)
    for t in range(n):
        combined = 0.0
        for b in range(bands.shape[0]):
            lo, hi = bands[b, 0], bands[b, 1]
            add_bid = side_band_mean(k, v_add[t], -1, lo, hi)
            add_ask = side_band_mean(k, v_add[t], 1, lo, hi)
            pull_ask = side_band_mean(k, v_pull[t], 1, lo, hi)
            pull_bid = side_band_mean(k, v_pull[t], -1, lo, hi)
            combined += weights[b] * (add_bid - add_ask + pull_ask - pull_bid)
        out[t] = combined
    return out


@numba.njit(cache=True)
def pfp_series(
    k: np.ndarray,
    v_add: np.ndarray,
    v_pull: np.ndarray,
    v_fill: np.ndarray,
    inner_lo: int,
    inner_hi: int,
    outer_lo: int,
    outer_hi: int,
    lag: int,
    alpha: float,
    eps: float,
    add_weight: float,
    pull_weight: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(value, warm, leads[n, 4]) of PFP; combos bid_add, ask_add, bid_pull, ask_pull."""
    n = v_add.shape[0]
    value = np.zeros(n)
    warm = np.zeros(n, dtype=np.bool_)
    leads = np.zeros((n, 4))
    outer_hist = np.zeros((n, 4))
    num = np.zeros(4)
    den = np.zeros(4)
    seeded = False
    sides = np.array([-1, 1, -1, 1])
    for t in range(n):
        add_fill = v_add[t] + v_fill[t]
        inner = np.zeros(4)
        for c in range(4):
            src = add_fill if c < 2 else v_pull[t]
            inner[c] = side_band_mean(k, src, sides[c], inner_lo, inner_hi)
            outer_hist[t, c] = side_band_mean(k, src, sides[c], outer_lo, outer_hi)
        if t < lag:
            continue
        warm[t] = True
        for c in range(4):
            x_num = inner[c] * outer_hist[t - lag, c]
            x_den = inner[c] * outer_hist[t, c]
            if not seeded:
                num[c] = x_num
                den[c] = x_den
            else:
                num[c] = alpha * x_num + (1 - alpha) * num[c]
                den[c] = alpha * x_den + (1 - alpha) * den[c]
            leads[t, c] = num[c] / (den[c] + eps)
        seeded = True
        value[t] = add_weight * (leads[t, 0] - leads[t, 1]) + pull_weight * (
            leads[t, 3] - leads[t, 2]
        )
    return value, warm, leads


@numba.njit(cache=True)
def svac_series(
    k: np.ndarray, vacuum: np.ndarray, alpha: float, floor: float
) -> tuple[np.ndarray, np.ndarray]:
    """(value, raw) of SVac: raw / max(EMA(|raw|), floor), EMA seeded by the first |raw|."""
    n = vacuum.shape[0]
    value = np.zeros(n)
    raw = np.zeros(n)
    ema = 0.0
    for t in range(n):
        above = 0.0
        below = 0.0
        for i in range(k.shape[0]):
            kk = k[i]
            if kk > 0:
                above += vacuum[t, i] / kk
            elif kk < 0:
                below += vacuum[t, i] / -kk
        r = above - below
        raw[t] = r
        ema = abs(r) if t == 0 else alpha * abs(r) + (1 - alpha) * ema
        value[t] = r / max(ema, floor)
    return value, raw
