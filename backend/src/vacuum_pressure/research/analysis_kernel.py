"""Numba kernels of the signal analysis: signals with cooldown, TP/SL trades, offline projection."""

from __future__ import annotations

import numba
import numpy as np

OUTCOME_TP = 1
OUTCOME_SL = -1
OUTCOME_TIMEOUT = 0


@numba.njit(cache=True)
def threshold_signals(
    score: np.ndarray, valid: np.ndarray, threshold: float, cooldown: int, first: int
) -> tuple[np.ndarray, np.ndarray]:
    """(bin index, direction) where ``|score| >= threshold`` from bin ``first`` on.

    A bin with an invalid book never signals; after a signal at t the bins t+1..t+cooldown
    cannot signal.
    """
    n = score.shape[0]
    idx = np.empty(n, np.int64)
    direction = np.empty(n, np.int64)
    m = 0
    next_ok = first
    for t in range(max(first, 0), n):
        if t < next_ok or not valid[t]:
            continue
        s = score[t]
        if s >= threshold or s <= -threshold:
            idx[m] = t
            direction[m] = 1 if s > 0 else -1
            m += 1
            next_ok = t + cooldown + 1
    return idx[:m], direction[:m]


@numba.njit(cache=True)
def evaluate_trades(
    mid: np.ndarray,
    valid: np.ndarray,
    entries: np.ndarray,
    directions: np.ndarray,
    tp_ticks: float,
    sl_ticks: float,
    max_hold: int,
    tick_size: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(outcome, exit index, pnl in ticks) per trade.

    Entry at ``mid[i]``; the later bins i+1..i+max_hold with a valid book are checked in order:
    the first whose signed move reaches ``+tp_ticks`` is a take-profit, ``-sl_ticks`` a stop-loss.
    Otherwise a timeout exits at the last valid bin checked (the entry itself if none).
    """
    m = entries.shape[0]
    n = mid.shape[0]
    outcome = np.zeros(m, np.int64)
    exit_idx = np.zeros(m, np.int64)
    pnl = np.zeros(m)
    eps = 1e-9
    for j in range(m):
        i = entries[j]
        d = directions[j]
        entry = mid[i]
        last = i
        done = False
        for t in range(i + 1, min(n, i + max_hold + 1)):
            if not valid[t]:
                continue
            last = t
            move = d * (mid[t] - entry) / tick_size
            if move >= tp_ticks - eps:
                outcome[j] = OUTCOME_TP
                exit_idx[j] = t
                pnl[j] = move
                done = True
                break
            if move <= -sl_ticks + eps:
                outcome[j] = OUTCOME_SL
                exit_idx[j] = t
                pnl[j] = move
                done = True
                break
        if not done:
            outcome[j] = OUTCOME_TIMEOUT
            exit_idx[j] = last
            pnl[j] = d * (mid[last] - entry) / tick_size
    return outcome, exit_idx, pnl


@numba.njit(cache=True)
def trailing_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at every bin (NaN until ``window`` values exist)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    acc = 0.0
    for t in range(n):
        acc += x[t]
        if t >= window:
            acc -= x[t - window]
        if t >= window - 1:
            out[t] = acc / window
    return out


@numba.njit(cache=True)
def band_edges(
    k: np.ndarray, pressure: np.ndarray, vacuum: np.ndarray, bands: np.ndarray
) -> np.ndarray:
    """Per bin and band: ``(P_below + V_above) - (P_above + V_below)`` over band means."""
    n = pressure.shape[0]
    nb = bands.shape[0]
    out = np.zeros((n, nb))
    for t in range(n):
        for b in range(nb):
            lo, hi = bands[b, 0], bands[b, 1]
            s_pa = s_pb = s_va = s_vb = 0.0
            c_a = c_b = 0
            for i in range(k.shape[0]):
                kk = k[i]
                if lo <= kk <= hi:
                    s_pa += pressure[t, i]
                    s_va += vacuum[t, i]
                    c_a += 1
                elif lo <= -kk <= hi:
                    s_pb += pressure[t, i]
                    s_vb += vacuum[t, i]
                    c_b += 1
            if c_a > 0 and c_b > 0:
                out[t, b] = (s_pb / c_b + s_va / c_a) - (s_pa / c_a + s_vb / c_b)
    return out


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
