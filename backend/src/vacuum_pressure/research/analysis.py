"""The signal analysis (SPEC 10): default, regime and projection_experiment modes.

Every function takes a ``BinSeries`` and returns plain JSON-ready dictionaries. Prices move in
ticks (``geometry.tick_size`` dollars); horizons and holds are counted in bins. A bin's mid is a
price only when it is > 0 (the reference writes 0 while a book is being rebuilt). A rate with
nothing to count is ``None`` (JSON null), never NaN or 0.

The regime mode and the default mode's ``summary`` block follow the reference system's
``analyze_vp_signals.py`` definitions, so its numbers reproduce here; FEATURES.md documents each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import VPError
from ..spectrum_kernel import COMPOSITE_EPS
from . import analysis_kernel as ak
from .series import BinSeries
from .signals import page_signals
from .signals_kernel import rolling_robust_z, rolling_slope

OUTCOME_NAMES = {ak.OUTCOME_TP: "tp", ak.OUTCOME_SL: "sl", ak.OUTCOME_TIMEOUT: "timeout"}
Z95 = 1.959963984540054
NS_PER_HOUR = 3.6e12


class AnalysisParamError(VPError, ValueError):
    """A parameter of the analysis is outside what it accepts."""


def _refuse(flag: str, value: object, accepted: str) -> AnalysisParamError:
    if isinstance(value, tuple):
        value = ",".join(str(v) for v in value)
    return AnalysisParamError(f"{flag} {value!r} is invalid: expected {accepted}")


def check_ints(flag: str, values: tuple[int, ...], minimum: int) -> None:
    """A non-empty list of integers, each >= ``minimum``."""
    if not values or any(int(v) != v or v < minimum for v in values):
        raise _refuse(flag, values, f"a comma-separated list of integers >= {minimum}")


def check_floats(flag: str, values: tuple[float, ...], minimum: float) -> None:
    """A non-empty list of finite numbers, each >= ``minimum``."""
    if not values or any(not (math.isfinite(v) and v >= minimum) for v in values):
        raise _refuse(flag, values, f"a comma-separated list of numbers >= {minimum}")


def _check(ok: bool, flag: str, value: object, accepted: str) -> None:
    if not ok:
        raise _refuse(flag, value, accepted)


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion; (0, 1) with no trials."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _rate(count: int, total: int) -> float | None:
    return count / total if total else None


def _hours(series: BinSeries) -> float:
    return series.n * series.geometry.cell_width_ms / 3_600_000.0


def _priced(mid: np.ndarray) -> np.ndarray:
    """Bins whose mid is a price (> 0; NaN is not)."""
    return np.asarray(mid > 0)


def _params_json(params: RegimeParams | ExperimentParams) -> dict[str, Any]:
    """A mode's parameters for its JSON result (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in vars(params).items()}


def _state_codes(series: BinSeries) -> np.ndarray:
    """The spectrum state per cell: 1 pressure (score >= threshold), -1 vacuum, 0 neutral."""
    return edge_states(series.score, series.geometry.threshold_neutral)


def _state_shares(state: np.ndarray) -> dict[str, float]:
    total = max(state.size, 1)
    return {
        "pressure": np.count_nonzero(state == 1) / total,
        "neutral": np.count_nonzero(state == 0) / total,
        "vacuum": np.count_nonzero(state == -1) / total,
    }


def _projection_hits(series: BinSeries, projections: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per horizon (bins): hit rate and mean |error| of ``projections`` (n_horizons, n, rows,
    in ``geometry.horizons_bins`` order) against the score realised h bins later at the same
    absolute price. Rates are None for a horizon without trials."""
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
            "hit_rate": _rate(hits, trials),
            "mean_abs_error": err / trials if trials else None,
        }
    return out


# -- regime --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RegimeParams:
    """Regime-mode parameters (bands in ticks from spot, windows and holds in bins).

    Defaults are the reference script's. Invalid values raise ``AnalysisParamError`` naming the
    command-line flag.
    """

    directional_bands: tuple[int, ...] = (4, 8, 16)
    micro_windows: tuple[int, ...] = (25, 50, 100, 200)
    edge_threshold: float = 0.05
    cooldown_bins: int = 50
    tp_ticks: float = 8.0
    sl_ticks: float = 4.0
    max_hold_snapshots: int = 1200
    composite_threshold: float = 0.5

    def __post_init__(self) -> None:
        check_ints("--directional-bands", self.directional_bands, 1)
        check_ints("--micro-windows", self.micro_windows, 1)
        for flag, value in (
            ("--edge-threshold", self.edge_threshold),
            ("--composite-threshold", self.composite_threshold),
            ("--tp-ticks", self.tp_ticks),
            ("--sl-ticks", self.sl_ticks),
        ):
            _check(math.isfinite(value) and value > 0, flag, value, "a number > 0")
        _check(self.cooldown_bins >= 0, "--cooldown-bins", self.cooldown_bins, "an integer >= 0")
        _check(
            self.max_hold_snapshots >= 1,
            "--max-hold-snapshots",
            self.max_hold_snapshots,
            "an integer >= 1",
        )


def cell_composite(pressure: np.ndarray, vacuum: np.ndarray) -> np.ndarray:
    """``(P - V) / (|P| + |V| + 1e-12)`` per cell: +1 all pressure, -1 all vacuum."""
    return (pressure - vacuum) / (np.abs(pressure) + np.abs(vacuum) + COMPOSITE_EPS)


def raw_directional_edge(series: BinSeries, bands: tuple[int, ...]) -> np.ndarray:
    """Per bin: ``below - above``, each side the 1/sqrt(b)-weighted (normalised) blend over the
    bands b of the mean cell composite of the nested band k = 1..b (above) or -b..-1 (below).

    A band wider than the grid uses the cells there are. Both sides are averaged in order of
    distance from spot, so a mirrored book gives exactly 0. Bullish (pressure below, vacuum
    above) is positive.
    """
    k = series.k
    radius = int(min(k.max(initial=0), -k.min(initial=0)))
    if radius < 1:
        raise VPError(f"the grid has rows k={k.min()}..{k.max()}: expected at least k=-1..1")
    rows = {int(kk): i for i, kk in enumerate(k)}
    comp = cell_composite(series.cells["pressure_variant"], series.cells["vacuum_variant"])
    nearest_first = range(1, radius + 1)
    above = comp[:, np.array([rows[d] for d in nearest_first])]
    below = comp[:, np.array([rows[-d] for d in nearest_first])]
    weights = np.array([1.0 / np.sqrt(b) for b in bands])
    weights /= weights.sum()
    above_c = np.zeros(series.n)
    below_c = np.zeros(series.n)
    for w, b in zip(weights, bands, strict=True):
        m = min(b, radius)
        above_c += w * above[:, :m].mean(axis=1)
        below_c += w * below[:, :m].mean(axis=1)
    return below_c - above_c


def trailing_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at every bin; the mean of all values so far before
    ``window`` exist. Each window is summed afresh, so no rounding accumulates over the series."""
    out = np.empty(x.shape[0])
    head = min(window - 1, x.shape[0])
    out[:head] = np.cumsum(x[:head]) / np.arange(1, head + 1)
    if x.shape[0] >= window:
        out[window - 1 :] = sliding_window_view(x, window).sum(axis=1) / window
    return out


def smoothed_edge(raw: np.ndarray, windows: tuple[int, ...]) -> np.ndarray:
    """Trailing means of ``raw`` over each window w, blended with weights 1/sqrt(w) normalised."""
    weights = np.array([1.0 / np.sqrt(w) for w in windows])
    weights /= weights.sum()
    out = np.zeros(raw.shape[0])
    for w, window in zip(weights, windows, strict=True):
        out += w * trailing_mean(raw, window)
    return out


def directional_edge(series: BinSeries, params: RegimeParams) -> np.ndarray:
    """The regime mode's smoothed directional edge per bin (bullish > 0)."""
    raw = raw_directional_edge(series, params.directional_bands)
    return smoothed_edge(raw, params.micro_windows)


def edge_states(edge: np.ndarray, threshold: float) -> np.ndarray:
    """1 (up) where ``edge >= threshold``, -1 (down) where ``<= -threshold``, else 0 (flat)."""
    return np.where(edge >= threshold, 1, np.where(edge <= -threshold, -1, 0))


def detect_signals(
    edge: np.ndarray, threshold: float, cooldown: int
) -> tuple[np.ndarray, np.ndarray]:
    """(bin index, direction +1/-1) of the signals in ``edge``.

    A signal fires at a bin whose state (``edge_states``) is not flat and differs from the
    previous bin's (flat before the first bin), if at least ``cooldown`` bins passed since the
    last signal. A change blocked by the cooldown is not retried while the state lasts. NaN is
    flat.
    """
    state = edge_states(edge, threshold)
    previous = np.concatenate(([0], state[:-1]))
    changes = np.flatnonzero((state != 0) & (state != previous))
    fired: list[int] = []
    last = -cooldown
    for i in changes.tolist():
        if i - last >= cooldown:
            fired.append(i)
            last = i
    idx = np.array(fired, dtype=np.int64)
    return idx, state[idx].astype(np.int64)


def trade_results(
    series: BinSeries,
    entries: np.ndarray,
    directions: np.ndarray,
    params: RegimeParams,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(results, per-trade outcomes) of signals at bin indices ``entries`` (directions +1/-1).

    Entry at the signal bin's mid (a signal at a bin without a price is not traded); the later
    bins ``i+1 .. i+max_hold-1`` with a price are checked in order: TP when the mid reaches
    ``entry +/- tp_ticks * tick_size`` in the trade's direction, SL at ``-/+ sl_ticks * tick_size``.
    Otherwise a timeout at the hold window's last bin, priced at the last mid seen.
    ``events_per_hour`` divides the trades by the span from the first to the last bin.
    """
    mid, ts = series.mid_price, series.ts_ns
    tick = series.geometry.tick_size
    priced = _priced(mid[entries])
    n_unpriced = int(np.count_nonzero(~priced))
    entries, directions = entries[priced], directions[priced]
    outcome, exit_idx, exit_price = ak.evaluate_trades(
        mid,
        entries,
        directions,
        params.tp_ticks * tick,
        params.sl_ticks * tick,
        params.max_hold_snapshots,
    )
    entry_price = mid[entries]
    sign = np.where(directions > 0, 1.0, -1.0)
    pnl = (exit_price - entry_price) / tick * sign
    ms = (ts[exit_idx] - ts[entries]) / 1e6
    n = int(entries.size)
    n_tp = int(np.count_nonzero(outcome == ak.OUTCOME_TP))
    n_sl = int(np.count_nonzero(outcome == ak.OUTCOME_SL))
    n_to = n - n_tp - n_sl
    resolved = n_tp + n_sl
    lo, hi = wilson_interval(n_tp, resolved)
    breakeven = params.sl_ticks / (params.tp_ticks + params.sl_ticks)
    if resolved == 0:
        verdict = "no resolved trades"
    elif lo > breakeven:
        verdict = "above breakeven"
    elif hi < breakeven:
        verdict = "below breakeven"
    else:
        verdict = "includes breakeven"
    span_hours = float(ts[-1] - ts[0]) / NS_PER_HOUR if series.n else 0.0
    resolved_ms = ms[outcome != ak.OUTCOME_TIMEOUT]
    results = {
        "n_signals": n,
        "n_up": int(np.count_nonzero(directions > 0)),
        "n_down": int(np.count_nonzero(directions < 0)),
        "tp_before_sl_rate": _rate(n_tp, n),
        "sl_before_tp_rate": _rate(n_sl, n),
        "timeout_rate": _rate(n_to, n),
        "events_per_hour": n / span_hours if span_hours > 0 else 0.0,
        "median_time_to_outcome_ms": float(np.median(resolved_ms)) if resolved_ms.size else None,
        "mean_pnl_ticks": float(np.mean(pnl)) if n else None,
        # ours, beside the reference's fields
        "n_tp": n_tp,
        "n_sl": n_sl,
        "n_timeout": n_to,
        "n_signals_without_price": n_unpriced,
        "hit_rate": _rate(n_tp, resolved),
        "hit_rate_trades": resolved,
        "hit_rate_ci95": [lo, hi],
        "breakeven_hit_rate": breakeven,
        "verdict": verdict,
    }
    trades = [
        {
            "bin_idx": int(i),
            "direction": "up" if d > 0 else "down",
            "entry_price": float(e),
            "outcome": OUTCOME_NAMES[int(o)],
            "outcome_price": float(x),
            "time_to_outcome_ms": float(t),
            "pnl_ticks": float(p),
            "bin_seq": int(series.bin_seq[i]),
            "ts_ns": int(ts[i]),
        }
        for i, d, e, o, x, t, p in zip(
            entries, directions, entry_price, outcome, exit_price, ms, pnl, strict=True
        )
    ]
    return results, trades


def regime(series: BinSeries, params: RegimeParams) -> dict[str, Any]:
    """The directional edge's signals and the page's composite signals, scored as TP/SL trades.

    Result keys follow the reference's JSON (``params``, ``spectrum``, ``edge``,
    ``trade_results``, ``trades``); ``page_composite`` holds the same two blocks for the page's
    composite signal (thresholded at ``composite_threshold`` once its three parts are warm).
    """
    if series.n == 0:
        raise VPError("no bins to analyse: the eval window is empty")
    edge = directional_edge(series, params)
    idx, dirs = detect_signals(edge, params.edge_threshold, params.cooldown_bins)
    results, trades = trade_results(series, idx, dirs, params)
    states = edge_states(edge, params.edge_threshold)
    up = np.count_nonzero(states == 1) / series.n
    down = np.count_nonzero(states == -1) / series.n
    sig = page_signals(
        series.k,
        series.cells["v_add"],
        series.cells["v_pull"],
        series.cells["v_fill"],
        series.cells["vacuum_variant"],
        series.geometry.cell_width_ms,
    )
    composite = np.where(sig.warmup_fraction >= 1.0, sig.composite, np.nan)
    c_idx, c_dirs = detect_signals(composite, params.composite_threshold, params.cooldown_bins)
    c_results, c_trades = trade_results(series, c_idx, c_dirs, params)
    shares = _state_shares(_state_codes(series))
    return {
        "mode": "regime",
        "params": _params_json(params),
        "n_bins": series.n,
        "hours": _hours(series),
        "spectrum": {f"{name}_share": value for name, value in shares.items()},
        "edge": {
            "mean": float(edge.mean()),
            "std": float(edge.std()),
            "pct_up": float(up),
            "pct_flat": float(1.0 - up - down),
            "pct_down": float(down),
        },
        "trade_results": results,
        "trades": trades,
        "page_composite": {"trade_results": c_results, "trades": c_trades},
    }


# -- default -------------------------------------------------------------------------------------
def _forward_hits(
    series: BinSeries, signal: np.ndarray, horizons: tuple[int, ...]
) -> dict[str, dict[str, Any]]:
    """Per horizon h: share of bins where sign(signal) equals the sign of the mid move h bins on
    (both bins with a valid book and a price; no move and a zero signal are not trials)."""
    out: dict[str, dict[str, Any]] = {}
    mid = series.mid_price
    ok_bin = series.book_valid & _priced(mid)
    for h in horizons:
        if h >= series.n:
            out[str(h)] = {"hits": 0, "trials": 0, "hit_rate": None, "ci95": [0.0, 1.0]}
            continue
        move = mid[h:] - mid[:-h]
        ok = ok_bin[h:] & ok_bin[:-h] & (move != 0) & (signal[:-h] != 0)
        hits = int(np.count_nonzero(ok & (np.sign(move) == np.sign(signal[:-h]))))
        trials = int(np.count_nonzero(ok))
        out[str(h)] = {
            "hits": hits,
            "trials": trials,
            "hit_rate": _rate(hits, trials),
            "ci95": list(wilson_interval(hits, trials)),
        }
    return out


def reference_projection_hit_rate(series: BinSeries, index: int) -> dict[str, Any]:
    """The reference's projection hit rate of horizon ``index`` (geometry order).

    For each bin i, j is the first bin with ``ts_j >= ts_i + horizon_ms``; per cell (same k row)
    the predicted change ``proj_i - score_i`` and the realised change ``score_j - score_i`` are
    compared by sign, over pairs where both are non-zero. ``n_pairs`` counts those cells.
    """
    ts = series.ts_ns
    target = ts + int(series.geometry.horizons_ms[index]) * 1_000_000
    j = np.searchsorted(ts, target, side="left")
    i = np.flatnonzero(j < series.n)
    score = series.score
    pred = np.sign(series.projections[index][i] - score[i])
    real = np.sign(score[j[i]] - score[i])
    active = (pred != 0) & (real != 0)
    n_pairs = int(np.count_nonzero(active))
    hits = int(np.count_nonzero(pred[active] == real[active]))
    return {"hit_rate": _rate(hits, n_pairs), "n_pairs": n_pairs}


def _centre_score(series: BinSeries) -> np.ndarray:
    """The k=0 row's spectrum score per bin."""
    return series.score[:, int(np.flatnonzero(series.k == 0)[0])]


def reference_summary(
    series: BinSeries, state: np.ndarray | None = None, centre: np.ndarray | None = None
) -> dict[str, Any]:
    """The reference script's default-mode ``summary`` block, same field names and definitions.

    ``directional_edge`` = mean score of the rows below spot - mean score of the rows above,
    over all bins; ``center_sign_hit_rate`` = share of consecutive bin pairs where the k=0
    row's score change and the mid change have the same sign (pairs where either is zero, or a
    mid is not a price, left out); ``projection`` per horizon in ms, see
    ``reference_projection_hit_rate``. ``state`` (``_state_codes``) and ``centre``
    (``_centre_score``) are computed when not given.
    """
    if series.n < 2:
        raise VPError(f"the eval window has {series.n} bin(s): the default mode needs at least 2")
    k, score, mid = series.k, series.score, series.mid_price
    shares = _state_shares(_state_codes(series) if state is None else state)
    centre = _centre_score(series) if centre is None else centre
    score_delta, mid_delta = np.diff(centre), np.diff(mid)
    priced = _priced(mid)
    nz = (score_delta != 0) & (mid_delta != 0) & priced[1:] & priced[:-1]
    same = np.sign(score_delta[nz]) == np.sign(mid_delta[nz])
    return {
        "n_eval_bins": series.n,
        "n_cells": int(k.size),
        "state_share_pressure": shares["pressure"],
        "state_share_neutral": shares["neutral"],
        "state_share_vacuum": shares["vacuum"],
        "directional_edge": float(np.mean(score[:, k < 0]) - np.mean(score[:, k > 0])),
        "center_sign_hit_rate": float(np.mean(same)) if same.size else None,
        "projection": {
            str(ms): reference_projection_hit_rate(series, i)
            for i, ms in enumerate(series.geometry.horizons_ms)
        },
    }


@dataclass(frozen=True)
class DefaultParams:
    """Default-mode parameters: the forward horizons (bins) of our hit rates.

    Invalid values raise ``AnalysisParamError`` naming the command-line flag.
    """

    horizons_bins: tuple[int, ...] = (1, 5, 10, 50, 100)

    def __post_init__(self) -> None:
        check_ints("--horizons-bins", self.horizons_bins, 1)


def default(series: BinSeries, params: DefaultParams) -> dict[str, Any]:
    """The reference's ``summary`` plus our forward hit rates per horizon (bins)."""
    horizons = params.horizons_bins
    state = _state_codes(series)
    centre = _centre_score(series)
    summary = reference_summary(series, state, centre)
    above, below = series.k > 0, series.k < 0
    p, v = series.cells["pressure_variant"], series.cells["vacuum_variant"]
    bull = p[:, below].sum(axis=1) + v[:, above].sum(axis=1)
    bear = p[:, above].sum(axis=1) + v[:, below].sum(axis=1)
    net = bull - bear
    return {
        "mode": "default",
        "n_bins": series.n,
        "hours": _hours(series),
        "summary": summary,
        "state_shares": {  # all cells: ``summary``'s state_share_*
            "above": _state_shares(state[:, above]),
            "below": _state_shares(state[:, below]),
        },
        "net_pv_edge": {
            "mean_net_edge": float(net.mean()),
            "share_bullish": float(np.mean(net > 0)),
            "hit_rate_by_horizon": _forward_hits(series, net, horizons),
        },
        "centre_score_hit_rate_by_horizon": _forward_hits(series, centre, horizons),
        "projection_cell_hit_rate_by_horizon": _projection_hits(series, series.projections),
    }


# -- projection experiment -----------------------------------------------------------------------
@dataclass(frozen=True)
class ExperimentParams:
    """The sweep grid and the regime-shift metric's settings (bins).

    Invalid values raise ``AnalysisParamError`` naming the command-line flag.
    """

    use_cubic_values: tuple[bool, ...] = (False, True)
    cubic_scale_values: tuple[float, ...] = (0.10, 1 / 6, 0.22)
    damping_lambda_values: tuple[float, ...] = (0.0, 0.0005, 0.001, 0.002)
    regime_horizon_bins: int = 4
    slope_window_bins: int = 30
    shift_z_threshold: float = 2.0

    def __post_init__(self) -> None:
        _check(
            bool(self.use_cubic_values),
            "--experiment-use-cubic-values",
            self.use_cubic_values,
            "a comma-separated list of true/false",
        )
        check_floats("--experiment-cubic-scale-values", self.cubic_scale_values, 0.0)
        check_floats("--experiment-damping-lambda-values", self.damping_lambda_values, 0.0)
        _check(
            self.regime_horizon_bins >= 1,
            "--experiment-regime-horizon-bins",
            self.regime_horizon_bins,
            "an integer >= 1",
        )
        _check(
            self.slope_window_bins >= 2,
            "--experiment-slope-window-bins",
            self.slope_window_bins,
            "an integer >= 2 (a slope needs two points)",
        )
        _check(
            math.isfinite(self.shift_z_threshold) and self.shift_z_threshold >= 0,
            "--experiment-shift-z-threshold",
            self.shift_z_threshold,
            "a number >= 0",
        )


def shift_metrics(
    series: BinSeries, directional: np.ndarray, params: ExperimentParams
) -> dict[str, Any]:
    """Regime shifts = the robust z of the directional series' slope crossing the threshold.

    The slope is the OLS slope over ``slope_window_bins``; its z is taken over the trailing
    ``10 x slope_window_bins`` (at least ``slope_window_bins`` values). A shift's direction is the
    z's sign; it hits when the mid moved that way ``regime_horizon_bins`` later (both bins with a
    valid book and a price).
    """
    w, h = params.slope_window_bins, params.regime_horizon_bins
    slope = rolling_slope(directional, w)
    z = rolling_robust_z(slope, 10 * w, w)
    over = np.abs(z) >= params.shift_z_threshold
    start = np.zeros_like(over)
    start[1:] = over[1:] & ~over[:-1]
    idx = np.flatnonzero(start)
    idx = idx[idx + h < series.n]
    mid = series.mid_price
    ok_bin = series.book_valid & _priced(mid)
    idx = idx[ok_bin[idx] & ok_bin[idx + h]]
    move = np.sign(z[idx]) * (mid[idx + h] - mid[idx]) / series.geometry.tick_size
    hits = int(np.count_nonzero(move > 0))
    trials = int(np.count_nonzero(move != 0))
    hours = _hours(series)
    return {
        "n_shifts": int(idx.size),
        "shift_hit_rate": _rate(hits, trials),
        "shift_trials": trials,
        "shifts_per_hour": idx.size / hours if hours > 0 else 0.0,
        "mean_forward_ticks": float(move.mean()) if idx.size else None,
        "mean_abs_slope": float(np.mean(np.abs(slope))) if slope.size else None,
    }


def _rank_value(rate: float | None) -> float:
    """A rate for ranking: an undefined one sorts below every defined one (as the reference)."""
    return -1.0 if rate is None else rate


def projection_experiment(series: BinSeries, params: ExperimentParams) -> dict[str, Any]:
    """Projections recomputed from the captured scores for every model in the grid, ranked by
    mean hit rate over the horizons that had trials (then by the shift hit rate)."""
    geo = series.geometry
    dt_s = geo.cell_width_ms / 1000.0
    horizons_s = np.array([ms / 1000.0 for ms in geo.horizons_ms])
    spot_tick = series.spot_ref_price_int // geo.tick_int
    h_idx = int(np.argmin([abs(h - params.regime_horizon_bins) for h in geo.horizons_bins]))
    below, above = series.k < 0, series.k > 0
    runs: list[dict[str, Any]] = []
    combos: dict[tuple[bool, float, float], None] = {}  # ordered and without repeats
    for cubic in params.use_cubic_values:
        scales = params.cubic_scale_values if cubic else params.cubic_scale_values[:1]
        grid = product(scales, params.damping_lambda_values)
        combos |= dict.fromkeys((bool(cubic), float(s), float(d)) for s, d in grid)
    for cubic, scale, lam in combos:
        damping = np.exp(-lam * horizons_s) if lam > 0 else np.ones_like(horizons_s)
        proj = ak.project_scores(
            series.score, spot_tick, series.book_valid, horizons_s, dt_s, cubic, scale, damping
        )
        per_h = _projection_hits(series, proj)
        p = np.nan_to_num(proj[h_idx], nan=0.0)
        directional = p[:, below].mean(axis=1) - p[:, above].mean(axis=1)
        rates = [v["hit_rate"] for v in per_h.values() if v["hit_rate"] is not None]
        runs.append(
            {
                "use_cubic": bool(cubic),
                "cubic_scale": float(scale),
                "damping_lambda": float(lam),
                "mean_hit_rate": float(np.mean(rates)) if rates else None,
                "hit_rate_by_horizon": per_h,
                "regime_shift": shift_metrics(series, directional, params),
            }
        )
    runs.sort(
        key=lambda r: (
            -_rank_value(r["mean_hit_rate"]),
            -_rank_value(r["regime_shift"]["shift_hit_rate"]),
        )
    )
    for rank, r in enumerate(runs, 1):
        r["rank"] = rank
    return {
        "mode": "projection_experiment",
        "params": _params_json(params),
        "n_bins": series.n,
        "hours": _hours(series),
        "runs": runs,
    }
