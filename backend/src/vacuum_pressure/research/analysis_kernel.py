"""Numba kernels of the signal analysis: TP/SL trades and the offline projection."""

from __future__ import annotations

import numba
import numpy as np

OUTCOME_TP = 1
OUTCOME_SL = -1
OUTCOME_TIMEOUT = 0


@numba.njit(cache=True)
def evaluate_trades(
    mid: np.ndarray,
    entries: np.ndarray,
    directions: np.ndarray,
    tp: float,
    sl: float,
    max_hold: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(outcome, exit index, exit price) per trade; ``tp``/``sl`` are price distances (dollars).

    Entry at ``mid[i]`` (the caller passes only entries with a price). Bins i+1..i+max_hold-1
    with a price (mid > 0) are checked in order: the first at ``entry + tp`` or beyond in the
    trade's direction is a take-profit, ``entry - sl`` or beyond against it a stop-loss (TP is
    checked first). Otherwise a timeout exits at bin ``min(i + max_hold, n) - 1`` at the last
    price seen up to it (the entry's if none).
    """
    m = entries.shape[0]
    n = mid.shape[0]
    outcome = np.full(m, OUTCOME_TIMEOUT, np.int64)
    exit_idx = np.zeros(m, np.int64)
    exit_price = np.zeros(m)
    for j in range(m):
        i = entries[j]
        up = directions[j] > 0
        entry = mid[i]
        end = min(i + max_hold, n)
        exit_idx[j] = end - 1
        last_price = entry
        for t in range(i + 1, end):
            price = mid[t]
            if not price > 0:
                continue
            last_price = price
            hit_tp = price >= entry + tp if up else price <= entry - tp
            hit_sl = price <= entry - sl if up else price >= entry + sl
            if hit_tp or hit_sl:
                outcome[j] = OUTCOME_TP if hit_tp else OUTCOME_SL
                exit_idx[j] = t
                break
        exit_price[j] = last_price
    return outcome, exit_idx, exit_price


@numba.njit(cache=True)
def project_scores(
    score: np.ndarray,
    spot_tick: np.ndarray,
    valid: np.ndarray,
    horizons_s: np.ndarray,
    dt_s: float,
    use_cubic: bool,
    cubic_scale: float,
    damping: np.ndarray,
) -> np.ndarray:
    """Projected scores (n_h, n, rows) from each absolute cell's last four scores (SPEC 6 step 8).

    Row i of bin t is absolute tick ``spot_tick[t] + i``; its history is read at the same tick in
    bins t-1..t-3. NaN where that history left the window or a book was invalid.
    """
    n, rows = score.shape
    nh = horizons_s.shape[0]
    out = np.full((nh, n, rows), np.nan)
    s = np.empty(4)  # the cell's scores at t, t-1, t-2, t-3; reused for every cell
    for t in range(3, n):
        if not (valid[t] and valid[t - 1] and valid[t - 2] and valid[t - 3]):
            continue
        for i in range(rows):
            ok = True
            for j in range(4):
                r = i + spot_tick[t] - spot_tick[t - j]
                if r < 0 or r >= rows:
                    ok = False
                    break
                s[j] = score[t - j, r]
            if not ok:
                continue
            s1 = (s[0] - s[1]) / dt_s
            s1p = (s[1] - s[2]) / dt_s
            s1pp = (s[2] - s[3]) / dt_s
            s2 = (s1 - s1p) / dt_s
            s2p = (s1p - s1pp) / dt_s
            s3 = (s2 - s2p) / dt_s
            for h in range(nh):
                hh = horizons_s[h]
                p = s[0] + s1 * hh + 0.5 * s2 * hh * hh
                if use_cubic:
                    p = p + cubic_scale * s3 * hh * hh * hh
                p = p * damping[h]
                out[h, t, i] = min(1.0, max(-1.0, p))
    return out


@numba.njit(cache=True)
def projection_hits(
    proj: np.ndarray, score: np.ndarray, spot_tick: np.ndarray, h: int, threshold: float
) -> tuple[int, int, float]:
    """(hits, trials, sum |error|) of sign(proj at t) vs sign(score at t+h, same absolute tick).

    Trials are cells with ``|proj| >= threshold`` and a non-zero realised score.
    """
    n, rows = score.shape
    hits = 0
    trials = 0
    err = 0.0
    for t in range(n - h):
        for i in range(rows):
            p = proj[t, i]
            if p != p or abs(p) < threshold:
                continue
            r = i + spot_tick[t] - spot_tick[t + h]
            if r < 0 or r >= rows:
                continue
            real = score[t + h, r]
            if real == 0.0:
                continue
            trials += 1
            err += abs(p - real)
            if (p > 0) == (real > 0):
                hits += 1
    return hits, trials, err
