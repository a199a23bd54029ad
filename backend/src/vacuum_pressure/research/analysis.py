"""The signal analysis (SPEC 10): default, regime and projection_experiment modes.

Every function takes a ``BinSeries`` and returns plain JSON-ready dictionaries. Prices move in
ticks (``geometry.tick_size`` dollars); horizons and holds are counted in bins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np

from ..errors import VPError
from . import analysis_kernel as ak
from .series import BinSeries
from .signals import page_signals
from .signals_kernel import rolling_robust_z, rolling_slope

OUTCOME_NAMES = {ak.OUTCOME_TP: "tp", ak.OUTCOME_SL: "sl", ak.OUTCOME_TIMEOUT: "timeout"}
Z95 = 1.959963984540054


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion; (0, 1) with no trials."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _hours(series: BinSeries) -> float:
    return series.n * series.geometry.cell_width_ms / 3_600_000.0


def _params_json(params: RegimeParams | ExperimentParams) -> dict[str, Any]:
    """A mode's parameters for its JSON result (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in vars(params).items()}


def _projection_hits(series: BinSeries, projections: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per horizon (bins): hit rate and mean |error| of ``projections`` (n_horizons, n, rows,
    in ``geometry.horizons_bins`` order) against the score realised h bins later."""
    geo = series.geometry
    spot_tick = series.spot_ref_price_int // geo.tick_int
    out = {}
    for i, h in enumerate(geo.horizons_bins):
        hits, trials, err = ak.projection_hits(
            projections[i], series.score, spot_tick, h, geo.threshold_neutral
        )
        out[str(h)] = {
            "hits": int(hits),
            "trials": int(trials),
            "hit_rate": hits / trials if trials else 0.0,
            "mean_abs_error": err / trials if trials else 0.0,
        }
    return out


# -- regime --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RegimeParams:
    """Regime-mode parameters (bands in |k| ticks, windows and holds in bins)."""

    directional_bands: tuple[int, ...] = (4, 8, 16)
    micro_windows: tuple[int, ...] = (25, 50, 100, 200)
    signal_threshold: float = 0.6
    cooldown_bins: int = 100
    tp_ticks: float = 8.0
    sl_ticks: float = 4.0
    max_hold_snapshots: int = 1200
    composite_threshold: float = 0.5


def band_ranges(bounds: tuple[int, ...]) -> np.ndarray:
    """``4,8,16`` -> |k| bands [1,4], [5,8], [9,16]."""
    if not bounds or any(b <= a for a, b in zip((0, *bounds), bounds, strict=False)):
        raise VPError(f"directional bands {bounds} are invalid: expected increasing positive ints")
    lo = (0, *bounds[:-1])
    return np.array([(a + 1, b) for a, b in zip(lo, bounds, strict=True)], np.int64)


def directional_edge(series: BinSeries, bounds: tuple[int, ...]) -> np.ndarray:
    """Per bin: band edges blended with weights 1/sqrt(band width), normalised (bullish > 0)."""
    bands = band_ranges(bounds)
    edges = ak.band_edges(
        series.k, series.cells["pressure_variant"], series.cells["vacuum_variant"], bands
    )
    w = 1.0 / np.sqrt(bands[:, 1] - bands[:, 0] + 1.0)
    return edges @ (w / w.sum())


def regime_score(edge: np.ndarray, windows: tuple[int, ...]) -> np.ndarray:
    """Mean over windows of ``trailing_mean(edge) / trailing_mean(|edge|)`` (in [-1, 1]).

    1 means the edge was positive through every window; NaN until the longest window is full.
    """
    if not windows or min(windows) < 1:
        raise VPError(f"micro windows {windows} are invalid: expected positive bin counts")
    parts = []
    for w in windows:
        m = ak.trailing_mean(edge, w)
        a = ak.trailing_mean(np.abs(edge), w)
        parts.append(
            np.divide(m, a, out=np.zeros_like(m), where=a > 0) + np.where(np.isnan(m), np.nan, 0)
        )
    return np.mean(parts, axis=0)


def trade_results(
    series: BinSeries,
    entries: np.ndarray,
    directions: np.ndarray,
    tp_ticks: float,
    sl_ticks: float,
    max_hold: int,
) -> dict[str, Any]:
    """TP/SL/timeout evaluation of signals at ``entries`` with the breakeven and a 95% CI."""
    outcome, exit_idx, pnl = ak.evaluate_trades(
        series.mid_price,
        series.book_valid,
        entries,
        directions,
        tp_ticks,
        sl_ticks,
        max_hold,
        series.geometry.tick_size,
    )
    n = int(entries.size)
    n_tp = int(np.count_nonzero(outcome == ak.OUTCOME_TP))
    n_sl = int(np.count_nonzero(outcome == ak.OUTCOME_SL))
    n_to = n - n_tp - n_sl
    resolved = n_tp + n_sl
    lo, hi = wilson_interval(n_tp, resolved)
    breakeven = sl_ticks / (tp_ticks + sl_ticks)
    ms = (series.ts_ns[exit_idx] - series.ts_ns[entries]) / 1e6 if n else np.zeros(0)
    verdict = (
        "no trades"
        if resolved == 0
        else (
            "above breakeven"
            if lo > breakeven
            else "below breakeven"
            if hi < breakeven
            else "includes breakeven"
        )
    )
    trades = [
        {
            "bin_seq": int(series.bin_seq[i]),
            "ts_ns": int(series.ts_ns[i]),
            "direction": "up" if d > 0 else "down",
            "entry_mid": float(series.mid_price[i]),
            "exit_mid": float(series.mid_price[x]),
            "outcome": OUTCOME_NAMES[int(o)],
            "pnl_ticks": float(p),
            "time_to_outcome_ms": float(t),
        }
        for i, d, x, o, p, t in zip(entries, directions, exit_idx, outcome, pnl, ms, strict=True)
    ]
    hours = _hours(series)
    return {
        "n_signals": n,
        "n_up": int(np.count_nonzero(directions > 0)),
        "n_down": int(np.count_nonzero(directions < 0)),
        "n_tp": n_tp,
        "n_sl": n_sl,
        "n_timeout": n_to,
        "tp_before_sl_rate": n_tp / n if n else 0.0,
        "sl_before_tp_rate": n_sl / n if n else 0.0,
        "timeout_rate": n_to / n if n else 0.0,
        "hit_rate": n_tp / resolved if resolved else 0.0,
        "hit_rate_trades": resolved,
        "hit_rate_ci95": [lo, hi],
        "breakeven_hit_rate": breakeven,
        "verdict": verdict,
        "events_per_hour": n / hours if hours > 0 else 0.0,
        "median_time_to_outcome_ms": float(np.median(ms)) if n else 0.0,
        "mean_pnl_ticks": float(np.mean(pnl)) if n else 0.0,
        "trades": trades,
    }


def regime(series: BinSeries, params: RegimeParams) -> dict[str, Any]:
    """Directional regime signal and the page's composite, each scored with TP/SL trades."""
    edge = directional_edge(series, params.directional_bands)
    score = regime_score(edge, params.micro_windows)
    first = max(params.micro_windows) - 1
    safe = np.nan_to_num(score, nan=0.0)
    idx, dirs = ak.threshold_signals(
        safe, series.book_valid, params.signal_threshold, params.cooldown_bins, first
    )
    directional = trade_results(
        series, idx, dirs, params.tp_ticks, params.sl_ticks, params.max_hold_snapshots
    )
    sig = page_signals(
        series.k,
        series.cells["v_add"],
        series.cells["v_pull"],
        series.cells["v_fill"],
        series.cells["vacuum_variant"],
        series.geometry.cell_width_ms,
    )
    warm_all = np.flatnonzero(sig.warmup_fraction >= 1.0)
    c_first = int(warm_all[0]) if warm_all.size else series.n
    c_idx, c_dirs = ak.threshold_signals(
        sig.composite,
        series.book_valid,
        params.composite_threshold,
        params.cooldown_bins,
        c_first,
    )
    composite = trade_results(
        series, c_idx, c_dirs, params.tp_ticks, params.sl_ticks, params.max_hold_snapshots
    )
    return {
        "mode": "regime",
        "params": _params_json(params),
        "n_bins": series.n,
        "hours": _hours(series),
        "directional": directional,
        "page_composite": composite,
        "series": {"score": safe, "composite": sig.composite},
    }


# -- default -------------------------------------------------------------------------------------
def _forward_hits(
    series: BinSeries, signal: np.ndarray, horizons: tuple[int, ...]
) -> dict[str, dict[str, Any]]:
    """Per horizon: share of bins where sign(signal) equals the sign of the mid move h bins on."""
    out = {}
    mid, valid = series.mid_price, series.book_valid
    for h in horizons:
        if h >= series.n:
            out[str(h)] = {"hits": 0, "trials": 0, "hit_rate": 0.0, "ci95": [0.0, 1.0]}
            continue
        move = mid[h:] - mid[:-h]
        ok = valid[h:] & valid[:-h] & (move != 0) & (signal[:-h] != 0)
        hits = int(np.count_nonzero(ok & (np.sign(move) == np.sign(signal[:-h]))))
        trials = int(np.count_nonzero(ok))
        out[str(h)] = {
            "hits": hits,
            "trials": trials,
            "hit_rate": hits / trials if trials else 0.0,
            "ci95": list(wilson_interval(hits, trials)),
        }
    return out


def default(series: BinSeries, horizons: tuple[int, ...]) -> dict[str, Any]:
    """State shares, directional edge, centre-sign and projection hit rates per horizon."""
    state = np.where(
        series.score >= series.geometry.threshold_neutral,
        1,
        np.where(series.score <= -series.geometry.threshold_neutral, -1, 0),
    )
    above, below = series.k > 0, series.k < 0

    def shares(mask: np.ndarray) -> dict[str, float]:
        cells = state[:, mask]
        total = max(cells.size, 1)
        return {
            "pressure": np.count_nonzero(cells == 1) / total,
            "neutral": np.count_nonzero(cells == 0) / total,
            "vacuum": np.count_nonzero(cells == -1) / total,
        }

    p, v = series.cells["pressure_variant"], series.cells["vacuum_variant"]
    bull = p[:, below].sum(axis=1) + v[:, above].sum(axis=1)
    bear = p[:, above].sum(axis=1) + v[:, below].sum(axis=1)
    net = bull - bear
    centre = series.score[:, int(np.flatnonzero(series.k == 0)[0])]
    return {
        "mode": "default",
        "n_bins": series.n,
        "hours": _hours(series),
        "state_shares": {
            "all": shares(np.ones_like(above)),
            "above": shares(above),
            "below": shares(below),
        },
        "directional_edge": {
            "mean_net_edge": float(net.mean()),
            "share_bullish": float(np.mean(net > 0)),
            "hit_rate_by_horizon": _forward_hits(series, net, horizons),
        },
        "centre_sign_hit_rate_by_horizon": _forward_hits(series, centre, horizons),
        "projection_hit_rate_by_horizon": _projection_hits(series, series.projections),
        "series": {"score": np.tanh(net / 200.0)},
    }


# -- projection experiment -----------------------------------------------------------------------
@dataclass(frozen=True)
class ExperimentParams:
    """The sweep grid and the regime-shift metric's settings (bins)."""

    use_cubic_values: tuple[bool, ...] = (False, True)
    cubic_scale_values: tuple[float, ...] = (0.10, 1 / 6, 0.22)
    damping_lambda_values: tuple[float, ...] = (0.0, 0.0005, 0.001, 0.002)
    regime_horizon_bins: int = 4
    slope_window_bins: int = 30
    shift_z_threshold: float = 2.0


def shift_metrics(
    series: BinSeries, directional: np.ndarray, params: ExperimentParams
) -> dict[str, Any]:
    """Regime shifts = the robust z of the directional series' slope crossing the threshold.

    The slope is the OLS slope over ``slope_window_bins``; its z is taken over the trailing
    ``10 x slope_window_bins`` (at least ``slope_window_bins`` values). A shift's direction is the
    z's sign; it hits when the mid moved that way ``regime_horizon_bins`` later.
    """
    w, h = params.slope_window_bins, params.regime_horizon_bins
    slope = rolling_slope(directional, w)
    z = rolling_robust_z(slope, 10 * w, w)
    over = np.abs(z) >= params.shift_z_threshold
    start = np.zeros_like(over)
    start[1:] = over[1:] & ~over[:-1]
    idx = np.flatnonzero(start)
    idx = idx[idx + h < series.n]
    mid, valid = series.mid_price, series.book_valid
    ok = valid[idx] & valid[idx + h]
    idx = idx[ok]
    move = np.sign(z[idx]) * (mid[idx + h] - mid[idx]) / series.geometry.tick_size
    nonzero = move != 0
    hits = int(np.count_nonzero(move > 0))
    trials = int(np.count_nonzero(nonzero))
    hours = _hours(series)
    return {
        "n_shifts": int(idx.size),
        "shift_hit_rate": hits / trials if trials else 0.0,
        "shift_trials": trials,
        "shifts_per_hour": idx.size / hours if hours > 0 else 0.0,
        "mean_forward_ticks": float(move.mean()) if idx.size else 0.0,
        "mean_abs_slope": float(np.mean(np.abs(slope))) if slope.size else 0.0,
    }


def projection_experiment(series: BinSeries, params: ExperimentParams) -> dict[str, Any]:
    """Projections recomputed from the captured scores for every model in the grid, ranked by
    mean hit rate over horizons (then by the shift hit rate)."""
    geo = series.geometry
    dt_s = geo.cell_width_ms / 1000.0
    horizons_s = np.array([ms / 1000.0 for ms in geo.horizons_ms])
    spot_tick = series.spot_ref_price_int // geo.tick_int
    h_idx = int(np.argmin([abs(h - params.regime_horizon_bins) for h in geo.horizons_bins]))
    below, above = series.k < 0, series.k > 0
    runs: list[dict[str, Any]] = []
    combos: list[tuple[bool, float, float]] = []
    for cubic in params.use_cubic_values:
        scales = params.cubic_scale_values if cubic else params.cubic_scale_values[:1]
        combos += [(cubic, s, d) for s, d in product(scales, params.damping_lambda_values)]
    for cubic, scale, lam in combos:
        damping = np.exp(-lam * horizons_s) if lam > 0 else np.ones_like(horizons_s)
        proj = ak.project_scores(
            series.score, spot_tick, series.book_valid, horizons_s, dt_s, cubic, scale, damping
        )
        per_h = _projection_hits(series, proj)
        p = np.nan_to_num(proj[h_idx], nan=0.0)
        directional = p[:, below].mean(axis=1) - p[:, above].mean(axis=1)
        rates = [v["hit_rate"] for v in per_h.values()]
        runs.append(
            {
                "use_cubic": bool(cubic),
                "cubic_scale": float(scale),
                "damping_lambda": float(lam),
                "mean_hit_rate": float(np.mean(rates)),
                "hit_rate_by_horizon": per_h,
                "regime_shift": shift_metrics(series, directional, params),
            }
        )
    runs.sort(key=lambda r: (-r["mean_hit_rate"], -r["regime_shift"]["shift_hit_rate"]))
    for rank, r in enumerate(runs, 1):
        r["rank"] = rank
    return {
        "mode": "projection_experiment",
        "params": _params_json(params),
        "n_bins": series.n,
        "hours": _hours(series),
        "runs": runs,
    }
