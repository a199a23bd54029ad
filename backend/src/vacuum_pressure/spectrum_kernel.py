"""Numba kernels of the per-cell spectrum (SPEC 6): rollup, derivatives, exact robust z, score.

Every arithmetic step mirrors the reference NumPy formulation operation for operation (same
operands, same order, no fused or reassociated arithmetic), so the results are identical bit for
bit. The transcendental functions (``tanh``, ``exp``) are deliberately *not* here: the reference
calls NumPy's vectorised versions, whose last bit can differ from libm, so the orchestrating class
calls NumPy between the kernels.

Robust z without a full sort
----------------------------
The reference takes ``np.median`` over the whole trailing window of every cell on every update.
Two facts make almost all of that work unnecessary while keeping the result exact:

* If every value in a window satisfies ``|x| <= SKIP_ABS`` the window range is at most
  ``2 * SKIP_ABS``; MAD <= range and rounding is monotone, so the computed ``1.4826 * mad`` is at
  most ``fl(1.4826 * 6e-10) ~ 8.9e-10 <= 1e-9`` and ``z`` is exactly 0. Such a cell needs no
  median at all. ``last_big`` remembers the last step at which a cell's value exceeded SKIP_ABS.
* For the other ("live") cells a sorted copy of the window is maintained incrementally (remove
  the value leaving, insert the new one). It is a circular array, so the values that must move
  are either those between the two positions or those between each position and the nearer end;
  a trending series, whose new value is the maximum while the leaving one is the minimum, moves
  nothing.
  The median then is one or two array reads, and the MAD is the k-th smallest element of two
  sorted sequences (deviations left of the median read backwards, right of it forwards), found by
  binary search. The deviations are the same floating-point numbers ``|x - med|`` that NumPy
  computes, so the selected elements and their ``(a + b) / 2`` are identical.

A sorted copy is dropped when its cell stops being live and rebuilt from the ring (one sort) when
it becomes live again. NaN (from non-finite inputs) poisons a window exactly as in NumPy, where the
median is NaN, the ``scale > 1e-9`` test fails and ``z`` is 0: ``last_nan`` tracks it.
"""

from __future__ import annotations

import math

import numba
import numpy as np

SKIP_ABS = 3e-10
"""Values with |x| <= SKIP_ABS cannot give a MAD scale above the 1e-9 cut-off (module doc)."""

COMPOSITE_EPS = 1e-12
"""The per-cell composite ``(P - V) / (|P| + |V| + COMPOSITE_EPS)``: 0 for a cell with no
pressure and no vacuum (the reference's constant; the regime analysis uses it too)."""

SCALE_EPS = 1e-9
"""Robust-z scale cut-off of the reference: z = 0 unless 1.4826 * MAD > SCALE_EPS."""

MAD_TO_SIGMA = 1.4826
"""MAD to standard-deviation factor used by the reference."""

NEVER = -(2**62)
"""Initial ``last_big``/``last_nan`` step: far before any window."""

PAST_STEPS = 3
"""Past scores a newly tracked cell needs: the projections at step t use the score differences
s1, s2 (and s3 for the cubic term), i.e. the scores of steps t-1, t-2, t-3. The derivative
rings therefore keep ``W + PAST_STEPS - 1`` samples (the window of step t-3 starts at t-W-2)."""


@numba.njit(cache=True, nogil=True)
def rollup_derivatives(
    pressure: np.ndarray,
    vacuum: np.ndarray,
    ring: np.ndarray,
    sums: np.ndarray,
    write_idx: int,
    old_slots: np.ndarray,
    counts: np.ndarray,
    rollup_weights: np.ndarray,
    first: bool,
    dt_s: float,
    prev_rolled: np.ndarray,
    prev_d1: np.ndarray,
    prev_d2: np.ndarray,
    zero_run: np.ndarray,
    freeze_after: int,
    out_d: np.ndarray,
    active: np.ndarray,
) -> int:
    """Composite, trailing-mean rollup and d1/d2/d3 of every non-frozen cell (SPEC 6 steps 1-4).

    ``ring`` is the composite ring (rows = slots); ``old_slots[j]`` is the ring row leaving window
    j (or -1 while the window is not full); ``counts[j]`` is the sample count of window j after
    this append, as a float. ``dt_s`` is in seconds. Writes d1, d2, d3 into ``out_d[0..2]``,
    updates ``prev_rolled``/``prev_d1``/``prev_d2`` in place, lists the processed cells in
    ``active`` and returns their number.

    A cell whose pressure and vacuum have been exactly 0 for more than ``freeze_after`` updates
    (counted in ``zero_run``) is frozen: its composites have left every window, its derivatives,
    z history and score chain are all 0, so an update would leave its state and its zero outputs
    unchanged, and it is skipped. A NaN rollup never freezes (NaN state keeps changing its ring).
    """
    n = pressure.shape[0]
    n_windows = sums.shape[0]
    n_active = 0
    for i in range(n):
        p = pressure[i]
        v = vacuum[i]
        if p == 0.0 and v == 0.0 and prev_rolled[i] == prev_rolled[i]:
            zero_run[i] += 1
            if zero_run[i] > freeze_after:
                zero_run[i] = freeze_after + 1
                continue
        else:
            zero_run[i] = 0
        active[n_active] = i
        n_active += 1
        comp = (p - v) / (abs(p) + abs(v) + COMPOSITE_EPS)
        for j in range(n_windows):
            slot = old_slots[j]
            if slot >= 0:
                sums[j, i] -= ring[slot, i]
            sums[j, i] += comp
        ring[write_idx, i] = comp
        rolled = 0.0
        for j in range(n_windows):
            rolled += rollup_weights[j] * (sums[j, i] / counts[j])
        if first:
            d1 = 0.0
            d2 = 0.0
            d3 = 0.0
        else:
            d1 = (rolled - prev_rolled[i]) / dt_s
            d2 = (d1 - prev_d1[i]) / dt_s
            d3 = (d2 - prev_d2[i]) / dt_s
        out_d[0, i] = d1
        out_d[1, i] = d2
        out_d[2, i] = d3
        prev_rolled[i] = rolled
        prev_d1[i] = d1
        prev_d2[i] = d2
    return n_active


@numba.njit(cache=True, nogil=True, inline="always")
def _at(start: int, cap: int, j: int) -> int:
    """Physical slot of logical position j in a circular array starting at ``start``."""
    p = start + j
    return p - cap if p >= cap else p


@numba.njit(cache=True, nogil=True, inline="always")
def _upper_bound(a: np.ndarray, start: int, cap: int, n: int, x: float) -> int:
    """First logical position in [0, n] whose value is > x (branch-free halving)."""
    if n == 0:
        return 0
    base = 0
    length = n
    while length > 1:
        half = length >> 1
        base = base + half if a[_at(start, cap, base + half)] <= x else base
        length -= half
    return base + 1 if a[_at(start, cap, base)] <= x else base


@numba.njit(cache=True, nogil=True, inline="always")
def _move_down(a: np.ndarray, start: int, cap: int, j0: int, j1: int) -> None:
    """Logical a[j] = a[j + 1] for j in [j0, j1): one contiguous copy unless it wraps."""
    p = _at(start, cap, j0)
    k = j1 - j0
    if p + k < cap:
        for t in range(p, p + k):
            a[t] = a[t + 1]
    else:
        for j in range(j0, j1):
            a[_at(start, cap, j)] = a[_at(start, cap, j + 1)]


@numba.njit(cache=True, nogil=True, inline="always")
def _move_up(a: np.ndarray, start: int, cap: int, j0: int, j1: int) -> None:
    """Logical a[j] = a[j - 1] for j from j1 down to j0 + 1: contiguous unless it wraps."""
    p = _at(start, cap, j0)
    k = j1 - j0
    if p + k < cap:
        for t in range(p + k, p, -1):
            a[t] = a[t - 1]
    else:
        for j in range(j1, j0, -1):
            a[_at(start, cap, j)] = a[_at(start, cap, j - 1)]


@numba.njit(cache=True, nogil=True)
def _insert_at(a: np.ndarray, start: int, cap: int, m: int, q: int, x: float) -> int:
    """Insert x at logical position q of the m values (m < cap); shift the shorter side."""
    if q < m - q:
        start = start - 1 if start > 0 else cap - 1
        _move_down(a, start, cap, 0, q)
    else:
        _move_up(a, start, cap, q, m)
    a[_at(start, cap, q)] = x
    return start


@numba.njit(cache=True, nogil=True)
def insert_sorted(a: np.ndarray, start: int, cap: int, n: int, x: float) -> int:
    """Insert x into the sorted circular array of n < cap values; returns the new start."""
    return _insert_at(a, start, cap, n, _upper_bound(a, start, cap, n, x), x)


@numba.njit(cache=True, nogil=True)
def replace_sorted(a: np.ndarray, start: int, cap: int, n: int, old: float, x: float) -> int:
    """Replace one ``old`` by x in the sorted circular array of n values; returns the new start.

    Moves the values between the two positions, or removes and inserts at the shorter ends,
    whichever moves fewer: a trending series (new value a maximum, leaving value the minimum)
    then costs O(1) instead of O(n).
    """
    # Both binary searches in one branch-free loop, so their memory reads overlap: r is the
    # first position holding a value >= old (old itself), u the first one > x.
    r = 0
    u = 0
    length = n
    while length > 1:
        half = length >> 1
        r = r + half if a[_at(start, cap, r + half)] < old else r
        u = u + half if a[_at(start, cap, u + half)] <= x else u
        length -= half
    r = r + 1 if a[_at(start, cap, r)] < old else r
    u = u + 1 if a[_at(start, cap, u)] <= x else u
    q = u if u <= r else u - 1  # final position of x once old is gone
    direct = q - r if q >= r else r - q
    split = min(r, n - 1 - r) + min(q, n - 1 - q)
    if direct <= split:
        if q > r:
            _move_down(a, start, cap, r, q)
        elif q < r:
            _move_up(a, start, cap, q, r)
        a[_at(start, cap, q)] = x
        return start
    if r < n - 1 - r:
        _move_up(a, start, cap, 0, r)
        start = start + 1 if start + 1 < cap else 0
    else:
        _move_down(a, start, cap, r, n - 1)
    return _insert_at(a, start, cap, n - 1, q, x)


@numba.njit(cache=True, nogil=True)
def median_mad_sorted(a: np.ndarray, start: int, cap: int, n: int) -> tuple[float, float]:
    """Median and MAD of a sorted circular array, equal to ``np.median`` of the values and of
    ``|x - med|``.

    The deviations left of position m = n // 2, read from m - 1 down to 0, are non-decreasing, as
    are those from m upwards (rounding is monotone), so the k-th smallest deviation is the k-th
    smallest of two sorted sequences: a binary search over how many come from the left side.
    """
    m = n >> 1
    if n & 1:
        med = a[_at(start, cap, m)]
    else:
        med = (a[_at(start, cap, m - 1)] + a[_at(start, cap, m)]) / 2.0
    n_left = m
    n_right = n - m
    k = (n - 1) >> 1  # index of the lower middle deviation
    take = k + 1  # how many smallest deviations end at the lower middle one
    lo = take - n_right if take > n_right else 0
    hi = take if take < n_left else n_left
    # Smallest i in [lo, hi] (taken from the left) with left[i] >= right[take - i - 1]; true at
    # hi by construction. Branch-free halving over the candidates lo..hi-1.
    i = lo
    length = hi - lo
    if length > 0:
        while length > 1:
            half = length >> 1
            p = i + half
            below = abs(a[_at(start, cap, m - 1 - p)] - med) < abs(
                a[_at(start, cap, m + take - p - 1)] - med
            )
            i = p if below else i
            length -= half
        if abs(a[_at(start, cap, m - 1 - i)] - med) < abs(
            a[_at(start, cap, m + take - i - 1)] - med
        ):
            i += 1
    j = take - i
    kth = -1.0
    if i > 0:
        kth = abs(a[_at(start, cap, m - i)] - med)
    if j > 0:
        r = abs(a[_at(start, cap, m + j - 1)] - med)
        if r > kth:
            kth = r
    if n & 1:
        return med, kth
    nxt = np.inf
    if i < n_left:
        nxt = abs(a[_at(start, cap, m - 1 - i)] - med)
    if j < n_right:
        r = abs(a[_at(start, cap, m + j)] - med)
        if r < nxt:
            nxt = r
    return med, (kth + nxt) / 2.0


@numba.njit(cache=True, nogil=True)
def robust_z_scaled(
    values: np.ndarray,
    active: np.ndarray,
    n_active: int,
    ring: np.ndarray,
    sorted_win: np.ndarray,
    sorted_start: np.ndarray,
    sorted_valid: np.ndarray,
    last_big: np.ndarray,
    last_nan: np.ndarray,
    step: int,
    min_periods: int,
    inv_tanh_scale: float,
    track_lo: int,
    track_hi: int,
    tanh_buf: np.ndarray,
    nz_index: np.ndarray,
    nz_value: np.ndarray,
) -> tuple[int, int]:
    """Append d1/d2/d3 of the active cells to their rings; ``z * inv_tanh_scale`` of the tracked.

    ``values``/``tanh_buf`` are (3, n); ``ring`` is (3, R, n) with R >= W + 2 rows, the sample
    of step s in row ``s % R``; ``sorted_win`` is (3, n, W), each a circular sorted array
    starting at ``sorted_start``. ``step`` counts updates from 0. Every active cell's sample is
    appended (and ``last_big``/``last_nan`` kept); z is computed only for the tracked cells
    ``track_lo <= i < track_hi``, following SPEC 6 step 5 exactly (0 before ``min_periods``
    samples, 0 unless ``1.4826 * MAD > 1e-9``). Zero results are written to ``tanh_buf``
    directly (tanh(0) = 0); the others are listed as flat index ``c * n + i`` in ``nz_index``
    with their scaled z in ``nz_value`` for NumPy's tanh. Returns (number listed, number of
    medians evaluated).
    """
    n_ch = values.shape[0]
    n = values.shape[1]
    cap = sorted_win.shape[2]
    n_rows = ring.shape[1]
    write_row = step % n_rows
    leave_row = (step - cap) % n_rows
    full = step >= cap
    n_valid = step + 1 if step < cap else cap
    window_start = step - n_valid + 1
    scored = n_valid >= min_periods
    evaluated = 0
    n_nz = 0
    for c in range(n_ch):
        ring_row = ring[c, write_row]
        leave = ring[c, leave_row]
        for idx in range(n_active):
            i = active[idx]
            x = values[c, i]
            ring_row[i] = x
            if x != x:
                last_nan[c, i] = step
            elif abs(x) > SKIP_ABS:
                last_big[c, i] = step
            if i < track_lo or i >= track_hi:
                continue
            tanh_buf[c, i] = 0.0
            live = last_big[c, i] >= window_start and last_nan[c, i] < window_start
            if not live:
                sorted_valid[c, i] = False
                continue
            a = sorted_win[c, i]
            if sorted_valid[c, i]:
                if full:
                    start = replace_sorted(a, sorted_start[c, i], cap, cap, leave[i], x)
                else:
                    start = insert_sorted(a, sorted_start[c, i], cap, n_valid - 1, x)
            else:
                for k in range(n_valid):
                    a[k] = ring[c, (step - k) % n_rows, i]
                a[:n_valid].sort()
                start = 0
                sorted_valid[c, i] = True
            sorted_start[c, i] = start
            if not scored:
                continue
            evaluated += 1
            med, mad = median_mad_sorted(a, start, cap, n_valid)
            zs = _scaled_z(x, med, mad, inv_tanh_scale)
            # -0.0 is listed too so that tanh keeps its sign, as in the reference.
            if zs != 0.0 or math.copysign(1.0, zs) < 0.0:
                nz_index[n_nz] = c * n + i
                nz_value[n_nz] = zs
                n_nz += 1
    return n_nz, evaluated


@numba.njit(cache=True, nogil=True, inline="always")
def _scaled_z(x: float, med: float, mad: float, inv_tanh_scale: float) -> float:
    """``z * inv_tanh_scale`` with the reference's scale cut-off (0.0 when not scaled)."""
    scale = MAD_TO_SIGMA * mad
    if scale > SCALE_EPS:
        return ((x - med) / scale) * inv_tanh_scale
    return 0.0


@numba.njit(cache=True, nogil=True)
def past_scaled_z(
    cells: np.ndarray,
    ring: np.ndarray,
    sorted_win: np.ndarray,
    sorted_start: np.ndarray,
    sorted_valid: np.ndarray,
    frozen: np.ndarray,
    step: int,
    min_periods: int,
    inv_tanh_scale: float,
    gathered: np.ndarray,
    nz_index: np.ndarray,
    nz_value: np.ndarray,
) -> int:
    """Scaled z of newly tracked cells at the last ``PAST_STEPS`` steps, from their rings.

    Called before the update of ``step`` (the ring holds the samples of steps < ``step``). For
    cell ``cells[e]``, channel c and past step ``k = step - PAST_STEPS + j`` (k >= 0) the value is
    exactly what ``robust_z_scaled`` computed at step k: the same window (the last
    ``min(k + 1, W)`` samples), the same live test, the same sorted-window median and MAD. The
    non-zero ones are listed as flat index ``(e * PAST_STEPS + j) * 3 + c`` into a
    (n_cells_listed, PAST_STEPS, 3) array. The sorted window of step ``step - 1`` is left in
    ``sorted_win`` (``sorted_valid`` says whether it is live), so the update of ``step`` goes on
    incrementally. ``frozen[e]`` cells have an all-zero ring: z is 0 throughout, nothing is read.
    ``gathered`` is scratch of at least R values. Returns the number listed.
    """
    n_ch = ring.shape[0]
    n_rows = ring.shape[1]
    cap = sorted_win.shape[2]
    n_hist = step if step < n_rows else n_rows
    base = step - n_hist  # step of gathered[0]
    k0 = step - PAST_STEPS if step > PAST_STEPS else 0
    n_nz = 0
    for e in range(cells.shape[0]):
        i = cells[e]
        for c in range(n_ch):
            sorted_valid[c, i] = False
            if frozen[e]:
                continue
            # One pass of strided reads (the ring is slot-major); then everything is in cache.
            for j in range(n_hist):
                gathered[j] = ring[c, (base + j) % n_rows, i]
            a = sorted_win[c, i]
            valid = False
            start = 0
            for k in range(k0, step):
                n_valid = k + 1 if k < cap else cap
                ws = k - n_valid + 1
                has_big = False
                has_nan = False
                for j in range(ws - base, k - base + 1):
                    v = gathered[j]
                    if v != v:
                        has_nan = True
                    elif abs(v) > SKIP_ABS:
                        has_big = True
                if has_nan or not has_big:
                    valid = False
                    continue
                x = gathered[k - base]
                if valid:
                    if k >= cap:
                        start = replace_sorted(a, start, cap, cap, gathered[k - cap - base], x)
                    else:
                        start = insert_sorted(a, start, cap, n_valid - 1, x)
                else:
                    for j in range(n_valid):
                        a[j] = gathered[ws - base + j]
                    a[:n_valid].sort()
                    start = 0
                    valid = True
                if n_valid < min_periods:
                    continue
                med, mad = median_mad_sorted(a, start, cap, n_valid)
                zs = _scaled_z(x, med, mad, inv_tanh_scale)
                if zs != 0.0 or math.copysign(1.0, zs) < 0.0:
                    nz_index[n_nz] = (e * PAST_STEPS + (k - (step - PAST_STEPS))) * n_ch + c
                    nz_value[n_nz] = zs
                    n_nz += 1
            sorted_valid[c, i] = valid
            sorted_start[c, i] = start
    return n_nz


@numba.njit(cache=True, nogil=True)
def _unit(x: float) -> float:
    """np.nan_to_num(nan=0, posinf=1, neginf=-1) followed by np.clip(-1, 1)."""
    if x != x:
        return 0.0
    if x > 1.0:
        return 1.0
    if x < -1.0:
        return -1.0
    return x


@numba.njit(cache=True, nogil=True, inline="always")
def _blend(t0: float, t1: float, t2: float, w0: float, w1: float, w2: float, norm: float) -> float:
    """Score from the three tanh values: weighted sum, normalised, sanitised (SPEC 6 step 6)."""
    s = w0 * t0 + w1 * t1 + w2 * t2
    if norm > 0.0:
        s = s / norm
    return _unit(s)


@numba.njit(cache=True, nogil=True)
def past_score_chain(
    cells: np.ndarray,
    past_tanh: np.ndarray,
    step: int,
    dt_hist: np.ndarray,
    w0: float,
    w1: float,
    w2: float,
    norm: float,
    prev_score: np.ndarray,
    prev_s1: np.ndarray,
    prev_s2: np.ndarray,
) -> None:
    """Score chain of newly tracked cells as ``score_project`` left it after step ``step - 1``.

    ``past_tanh[e, j, c]`` is NumPy's tanh of channel c's scaled z at step
    ``step - PAST_STEPS + j`` (0 where z was 0); ``dt_hist[j]`` is the dt (s) of step
    ``step - 1 - j``. Rebuilds the scores of the last three steps and from them prev_score,
    prev_s1 and prev_s2 with the reference's recurrences (s1 = s2 = 0 on the first step).
    """
    for e in range(cells.shape[0]):
        i = cells[e]
        if step == 0:
            prev_score[i] = 0.0
            prev_s1[i] = 0.0
            prev_s2[i] = 0.0
            continue
        t = past_tanh[e]
        sc3 = _blend(t[0, 0], t[0, 1], t[0, 2], w0, w1, w2, norm)  # step - 3
        sc2 = _blend(t[1, 0], t[1, 1], t[1, 2], w0, w1, w2, norm)  # step - 2
        sc1 = _blend(t[2, 0], t[2, 1], t[2, 2], w0, w1, w2, norm)  # step - 1
        if step == 1:  # step - 1 was the first update
            s1 = 0.0
            s2 = 0.0
        else:
            s1 = (sc1 - sc2) / dt_hist[0]
            s1_before = 0.0 if step == 2 else (sc2 - sc3) / dt_hist[1]
            s2 = (s1 - s1_before) / dt_hist[0]
        prev_score[i] = sc1
        prev_s1[i] = s1
        prev_s2[i] = s2


@numba.njit(cache=True, nogil=True)
def score_project(
    tanh_buf: np.ndarray,
    nz_index: np.ndarray,
    nz_tanh: np.ndarray,
    n_nz: int,
    active: np.ndarray,
    n_active: int,
    track_lo: int,
    track_hi: int,
    w0: float,
    w1: float,
    w2: float,
    norm: float,
    threshold: float,
    first: bool,
    dt_s: float,
    horizons_s: np.ndarray,
    use_cubic: bool,
    cubic_scale: float,
    damping: np.ndarray,
    use_damping: bool,
    prev_score: np.ndarray,
    prev_s1: np.ndarray,
    prev_s2: np.ndarray,
    score_out: np.ndarray,
    state_out: np.ndarray,
    proj_out: np.ndarray,
) -> None:
    """Blend, sanitise, discretise and project the active tracked cells (SPEC 6 steps 6-8).

    Only cells ``track_lo <= i < track_hi`` are written (the others' score chain is not kept).

    ``nz_tanh[k]`` is NumPy's tanh of the k-th listed scaled z, scattered into ``tanh_buf``
    (3, n) first. ``horizons_s`` are the horizons in seconds and ``damping[h]`` the precomputed
    ``exp(-lambda * h)`` factors. Updates ``prev_score``/``prev_s1``/``prev_s2`` in place.
    """
    flat = tanh_buf.reshape(-1)
    for k in range(n_nz):
        flat[nz_index[k]] = nz_tanh[k]
    n_h = horizons_s.shape[0]
    for idx in range(n_active):
        i = active[idx]
        if i < track_lo or i >= track_hi:
            continue
        s = _blend(tanh_buf[0, i], tanh_buf[1, i], tanh_buf[2, i], w0, w1, w2, norm)
        score_out[i] = s
        if s >= threshold:
            state_out[i] = 1
        elif s <= -threshold:
            state_out[i] = -1
        else:
            state_out[i] = 0
        if first:
            s1 = 0.0
            s2 = 0.0
            s3 = 0.0
        else:
            s1 = (s - prev_score[i]) / dt_s
            s2 = (s1 - prev_s1[i]) / dt_s
            s3 = (s2 - prev_s2[i]) / dt_s
        for k in range(n_h):
            h = horizons_s[k]
            proj = s + s1 * h + 0.5 * s2 * h * h
            if use_cubic:
                proj = proj + cubic_scale * s3 * h * h * h
            if use_damping:
                proj = proj * damping[k]
            proj_out[k, i] = _unit(proj)
        prev_score[i] = s
        prev_s1[i] = s1
        prev_s2[i] = s2
