"""Numba kernels of the AbsoluteTickEngine: order table, book, per-tick mechanics.

All state lives in a handful of NumPy arrays owned by ``AbsoluteTickEngine`` (see ``engine.py``),
so the kernels are plain functions and the whole state can be exported/imported as arrays.

Arithmetic mirrors the reference system operation by operation (SPEC 5 and 11): per-event
exponentials are libm ``exp`` (``math.exp``, as in the reference), additions are evaluated in the
same order, and no fused multiply-add is allowed (numba does not contract without fastmath).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from ..events import (
    ACTION_ADD,
    ACTION_CANCEL,
    ACTION_CLEAR,
    ACTION_FILL,
    ACTION_MODIFY,
    F_LAST,
    F_SNAPSHOT,
    SIDE_ASK,
    SIDE_BID,
)
from .simd import chain4_steps, chain4_steps_unchecked, chain4_touch

# ---------------------------------------------------------------------------------------------
# Constants (SPEC 5)
# ---------------------------------------------------------------------------------------------
TAU_V = 2.0  # velocity EMA time constant, s
TAU_A = 5.0  # acceleration EMA time constant, s
TAU_J = 10.0  # jerk EMA time constant, s
TAU_REST_DECAY = 30.0  # mass decay time constant, s
C1_V_ADD = 1.0
C2_V_REST_POS = 0.5
C3_A_ADD = 0.3
C4_V_PULL = 1.0
C5_V_FILL = 1.5
C6_V_REST_NEG = 0.5
C7_A_PULL = 0.3

# Rows of the per-tick float state ``F`` (shape (N_FIELDS, n_ticks)); the wire order differs
# (pressure and vacuum first: see pipeline.frames.WIRE_FLOAT_FIELDS).
ADD_MASS, PULL_MASS, FILL_MASS, REST_DEPTH = 0, 1, 2, 3
V_ADD, V_PULL, V_FILL, V_REST = 4, 5, 6, 7
A_ADD, A_PULL, A_FILL, A_REST = 8, 9, 10, 11
J_ADD, J_PULL, J_FILL, J_REST = 12, 13, 14, 15
PRESSURE, VACUUM = 16, 17
N_FIELDS = 18
FIELD_NAMES = (
    "add_mass",
    "pull_mass",
    "fill_mass",
    "rest_depth",
    "v_add",
    "v_pull",
    "v_fill",
    "v_rest_depth",
    "a_add",
    "a_pull",
    "a_fill",
    "a_rest_depth",
    "j_add",
    "j_pull",
    "j_fill",
    "j_rest_depth",
    "pressure_variant",
    "vacuum_variant",
)

# Slots of the int64 scalar vector ``S``.
S_ANCHOR = 0  # absolute tick of the grid centre, -1 until set
S_BB_IDX = 1  # best bid slot (-1: none or not on grid)
S_BA_IDX = 2  # best ask slot
S_BB = 3  # best bid price_int (0: none)
S_BA = 4  # best ask price_int (0: none)
S_EVENTS = 5  # global event counter (event ids)
S_BOOK_VALID = 6
S_SNAPSHOT = 7  # a snapshot (R with F_SNAPSHOT) is in progress
S_N_ORDERS = 8
S_OOR = 9  # prices skipped because they map outside the grid
S_OOR_PRICE = 10  # the latest such price
S_ERROR = 11  # ERR_* code set by a kernel; the caller raises
S_ERROR_A = 12  # error detail (price or slot)
S_ERROR_B = 13  # error detail (delta)
S_AUTO_ANCHOR = 14  # 1: anchor from the first valid BBO
S_FAIL_OOR = 15  # 1: out-of-range price is an error
S_FIX = 16  # 1: apply the documented fixes of the reference's defects
S_N = 17  # n_ticks
S_TICK = 18  # tick_int
S_MASK = 19  # order table capacity - 1 (capacity is a power of two)
S_UNKNOWN = 20  # C/M/F records whose order id was not in the book
N_SCALARS = 21

ERR_NONE = 0
ERR_OUT_OF_RANGE = 1
ERR_DEPTH_UNDERFLOW = 2
ERR_TABLE_FULL = 3
ERR_FACTORS = 4  # deferred advance: a record's precomputed factors assumed another bin

# Columns of the order table value array ``OV`` (shape (capacity, N_ORDER_COLS)); one slot's
# values share a cache line.
O_SIDE, O_PRICE, O_QTY, O_IDX = 0, 1, 2, 3
O_PENDING = 4  # filled quantity not yet confirmed by the exchange's C (fix switch only)
N_ORDER_COLS = 5

PRICE_SCALE = 1e-9  # the reference's constant for mid_price
_HASH_MULT = np.uint64(0x9E3779B97F4A7C15)

# ``_nrt=False``: the kernels never allocate, and without NumPy reference counting a call that
# passes arrays costs no atomic increments/decrements. With it, they were ~40% of the book
# kernel's time (perf: NRT_incref/NRT_decref), and the book-only loop ran 133 vs 60 ns/record.
# (A numba target option; an unknown option would fail loudly at import, not silently.)
_NO_NRT: dict[str, Any] = {"_nrt": False}
_jit = numba.njit(cache=True, nogil=True, **_NO_NRT)
_jit_inline = numba.njit(cache=True, nogil=True, inline="always", **_NO_NRT)


# ---------------------------------------------------------------------------------------------
# Order table: open addressing, linear probing, backward-shift deletion (no tombstones)
# ---------------------------------------------------------------------------------------------
@_jit
def _slot_of(key, mask):
    return np.int64((np.uint64(key) * _HASH_MULT) >> np.uint64(40)) & mask


@_jit
def table_find(OK, OU, S, key):
    """Slot holding ``key`` or -1."""
    mask = S[S_MASK]
    s = _slot_of(key, mask)
    while OU[s]:
        if OK[s] == key:
            return s
        s = (s + 1) & mask
    return -1


@_jit
def table_full(S):
    """True when the table holds its limit of orders (3/4 of its slots): the record loops stop
    before a record there, and the engine grows the table (a record adds at most one order)."""
    cap = S[S_MASK] + 1
    return S[S_N_ORDERS] >= cap - cap // 4


@_jit
def table_put(OK, OV, OU, S, key, side, price, qty, idx):
    """Insert or overwrite ``key``; returns the slot, or -1 when the table is full."""
    mask = S[S_MASK]
    s = _slot_of(key, mask)
    while OU[s]:
        if OK[s] == key:
            break
        s = (s + 1) & mask
    else:
        if table_full(S):
            S[S_ERROR] = ERR_TABLE_FULL
            return -1
        OU[s] = 1
        OK[s] = key
        S[S_N_ORDERS] += 1
    OV[s, O_SIDE] = side
    OV[s, O_PRICE] = price
    OV[s, O_QTY] = qty
    OV[s, O_IDX] = idx
    OV[s, O_PENDING] = 0
    return s


@_jit
def table_delete(OK, OV, OU, S, s):
    """Remove the entry at slot ``s`` keeping every probe chain intact."""
    mask = S[S_MASK]
    OU[s] = 0
    S[S_N_ORDERS] -= 1
    j = s
    while True:
        j = (j + 1) & mask
        if not OU[j]:
            return
        home = _slot_of(OK[j], mask)
        # Move j back to the hole s if its home is not cyclically within (s, j].
        if (j > s and (home <= s or home > j)) or (j < s and (home <= s and home > j)):
            OK[s] = OK[j]
            for c in range(N_ORDER_COLS):
                OV[s, c] = OV[j, c]
            OU[s] = 1
            OU[j] = 0
            s = j


@_jit
def table_put_many(OK, OV, OU, S, keys, vals):
    """Insert many entries (state import); stops early when the table is full."""
    for j in range(keys.size):
        s = table_put(OK, OV, OU, S, keys[j], vals[j, 0], vals[j, 1], vals[j, 2], vals[j, 3])
        if s < 0:
            return
        OV[s, O_PENDING] = vals[j, O_PENDING]


@_jit
def table_clear(OU, S):
    OU[:] = 0
    S[S_N_ORDERS] = 0


# ---------------------------------------------------------------------------------------------
# Grid mapping and BBO
# ---------------------------------------------------------------------------------------------
@_jit
def price_to_idx(S, price):
    """Grid slot of ``price`` (round-half-even of price/tick_int), or -1 (no anchor/off grid)."""
    anchor = S[S_ANCHOR]
    if anchor < 0:
        return -1
    n = S[S_N]
    idx = np.int64(np.rint(np.float64(price) / np.float64(S[S_TICK]))) - anchor + n // 2
    if 0 <= idx < n:
        return idx
    return -1


@_jit
def idx_to_price(S, idx):
    if idx < 0 or S[S_ANCHOR] < 0:
        return 0
    return (S[S_ANCHOR] - S[S_N] // 2 + idx) * S[S_TICK]


@_jit
def _note_out_of_range(S, price):
    S[S_OOR] += 1
    S[S_OOR_PRICE] = price
    if S[S_FAIL_OOR] and S[S_ERROR] == ERR_NONE:
        S[S_ERROR] = ERR_OUT_OF_RANGE
        S[S_ERROR_A] = price


@_jit
def _recompute_best_from_depth(S, D):
    n = S[S_N]
    bb = -1
    for i in range(n - 1, -1, -1):
        if D[0, i] > 0:
            bb = i
            break
    ba = -1
    for i in range(n):
        if D[1, i] > 0:
            ba = i
            break
    S[S_BB_IDX] = bb
    S[S_BA_IDX] = ba
    S[S_BB] = idx_to_price(S, bb) if bb >= 0 else 0
    S[S_BA] = idx_to_price(S, ba) if ba >= 0 else 0


@_jit
def raw_bbo_from_orders(OV, OU, S):
    """Best bid/ask from raw order prices, ignoring the grid (side N counts for neither)."""
    bb = 0
    ba = 0
    for s in range(OU.size):
        if OU[s] and OV[s, O_QTY] > 0:
            side = OV[s, O_SIDE]
            p = OV[s, O_PRICE]
            if side == SIDE_BID:
                if p > bb:
                    bb = p
            elif side == SIDE_ASK and (ba == 0 or p < ba):
                ba = p
    return bb, ba


@_jit
def _recompute_provisional_bbo(OV, OU, S):
    bb, ba = raw_bbo_from_orders(OV, OU, S)
    S[S_BB_IDX] = -1
    S[S_BA_IDX] = -1
    S[S_BB] = bb
    S[S_BA] = ba


@_jit
def rebuild_depth(D, OV, OU, S):
    """Recompute every order's slot and the depth arrays under the current anchor."""
    D[:, :] = 0
    S[S_BB_IDX] = -1
    S[S_BA_IDX] = -1
    S[S_BB] = 0
    S[S_BA] = 0
    if S[S_ANCHOR] < 0:
        for s in range(OU.size):
            if OU[s]:
                OV[s, O_IDX] = -1
        _recompute_provisional_bbo(OV, OU, S)
        return
    for s in range(OU.size):
        if not OU[s]:
            continue
        idx = price_to_idx(S, OV[s, O_PRICE])
        OV[s, O_IDX] = idx
        if idx < 0:
            _note_out_of_range(S, OV[s, O_PRICE])
            continue
        side = 0 if OV[s, O_SIDE] == SIDE_BID else 1
        D[side, idx] += OV[s, O_QTY]
    _recompute_best_from_depth(S, D)


@_jit
def _apply_depth_delta(D, S, side, idx, delta):
    if delta == 0 or idx < 0:
        return
    row = 0 if side == SIDE_BID else 1
    cur = D[row, idx]
    new = cur + delta
    if new < 0:
        if S[S_ERROR] == ERR_NONE:
            S[S_ERROR] = ERR_DEPTH_UNDERFLOW
            S[S_ERROR_A] = idx
            S[S_ERROR_B] = delta
        new = 0
    D[row, idx] = new
    n = S[S_N]
    if row == 0:
        best = S[S_BB_IDX]
        if new > 0 and (best < 0 or idx > best):
            S[S_BB_IDX] = idx
            S[S_BB] = idx_to_price(S, idx)
        elif cur > 0 and new == 0 and idx == best:
            i = min(max(idx, 0), n - 1)
            while i >= 0 and D[0, i] <= 0:
                i -= 1
            S[S_BB_IDX] = i
            S[S_BB] = idx_to_price(S, i) if i >= 0 else 0
    else:
        best = S[S_BA_IDX]
        if new > 0 and (best < 0 or idx < best):
            S[S_BA_IDX] = idx
            S[S_BA] = idx_to_price(S, idx)
        elif cur > 0 and new == 0 and idx == best:
            i = min(max(idx, 0), n - 1)
            while i < n and D[1, i] <= 0:
                i += 1
            if i >= n:
                i = -1
            S[S_BA_IDX] = i
            S[S_BA] = idx_to_price(S, i) if i >= 0 else 0


@_jit
def anchor_tick_from_bbo(bb, ba, tick):
    """floor(mid/tick + 0.5), computed as the reference does."""
    return np.int64(math.floor(np.float64(bb + ba) / (2.0 * np.float64(tick)) + 0.5))


@_jit
def _try_set_anchor(D, OV, OU, S, flags):
    """Anchor at the first moment both sides have a price, after the record with ``flags``;
    returns True when it was just set."""
    if S[S_ANCHOR] >= 0 or not S[S_AUTO_ANCHOR]:
        return False
    in_snapshot = S[S_SNAPSHOT] != 0 or ((flags & F_SNAPSHOT) != 0 and (flags & F_LAST) == 0)
    if S[S_FIX] and in_snapshot:
        # Fix: never anchor on a partial snapshot, also one without an R (only its records'
        # F_SNAPSHOT flag says so).
        return False
    if S[S_BB] > 0 and S[S_BA] > 0:
        S[S_ANCHOR] = anchor_tick_from_bbo(S[S_BB], S[S_BA], S[S_TICK])
        rebuild_depth(D, OV, OU, S)
        return True
    return False


# ---------------------------------------------------------------------------------------------
# Book operations (the reference's semantics, including its quirks; see SPEC 11)
# ---------------------------------------------------------------------------------------------
@_jit
def _add_order(D, OK, OV, OU, S, side, price, size, oid):
    idx = price_to_idx(S, price)
    if idx < 0 and S[S_ANCHOR] >= 0:
        _note_out_of_range(S, price)
    # A duplicate add overwrites the entry and leaves the old depth in place, like the reference.
    table_put(OK, OV, OU, S, oid, side, price, size, idx)
    if idx >= 0:
        _apply_depth_delta(D, S, side, idx, size)
    elif S[S_ANCHOR] < 0:
        if side == SIDE_BID:
            if price > S[S_BB]:
                S[S_BB] = price
        elif S[S_BA] == 0 or price < S[S_BA]:
            S[S_BA] = price
    return idx


@_jit
def _remove_order(D, OK, OV, OU, S, s):
    """Cancel the order at slot s (its remaining quantity leaves the book)."""
    idx = OV[s, O_IDX]
    if idx >= 0:
        _apply_depth_delta(D, S, OV[s, O_SIDE], idx, -OV[s, O_QTY])
    table_delete(OK, OV, OU, S, s)
    if idx < 0 and S[S_ANCHOR] < 0:
        _recompute_provisional_bbo(OV, OU, S)


@_jit
def _modify_order(D, OK, OV, OU, S, s, side, price, size, oid):
    """Pull the old order (if any) and insert the new one; returns the new slot index."""
    if s >= 0:
        old_idx = OV[s, O_IDX]
        if old_idx >= 0:
            _apply_depth_delta(D, S, OV[s, O_SIDE], old_idx, -OV[s, O_QTY])
        table_delete(OK, OV, OU, S, s)
    idx = _add_order(D, OK, OV, OU, S, side, price, size, oid)
    if S[S_ANCHOR] < 0:
        _recompute_provisional_bbo(OV, OU, S)  # the pulled order may have been the best
    return idx


@_jit
def _cancel_order(D, OK, OV, OU, S, s, size):
    """Cancel at slot s; returns the quantity that left the book.

    Reference semantics: the whole remaining quantity leaves. With the fix switch, a cancel of
    ``size`` first confirms quantity already removed by fills (XNAS reports a partial
    execution as ``F x`` then ``C x``) and removes only the rest, so partial cancels work.
    """
    qty = OV[s, O_QTY]
    if S[S_FIX]:
        pending = OV[s, O_PENDING]
        confirmed = min(size, pending)
        OV[s, O_PENDING] = pending - confirmed
        remove = min(size - confirmed, qty)
        if remove < qty:
            if remove > 0 and OV[s, O_IDX] >= 0:
                _apply_depth_delta(D, S, OV[s, O_SIDE], OV[s, O_IDX], -remove)
            OV[s, O_QTY] = qty - remove
            return remove
    _remove_order(D, OK, OV, OU, S, s)
    return qty


@_jit
def _fill_order(D, OK, OV, OU, S, s, fill):
    qty = OV[s, O_QTY]
    eff = min(fill, qty)
    if OV[s, O_IDX] >= 0:
        _apply_depth_delta(D, S, OV[s, O_SIDE], OV[s, O_IDX], -eff)
    qty -= eff
    OV[s, O_QTY] = qty
    OV[s, O_PENDING] += eff
    if qty <= 0:
        table_delete(OK, OV, OU, S, s)
        if S[S_ANCHOR] < 0:
            _recompute_provisional_bbo(OV, OU, S)


@_jit
def _clear_book(D, OU, S):
    table_clear(OU, S)
    D[:, :] = 0
    S[S_BB_IDX] = -1
    S[S_BA_IDX] = -1
    S[S_BB] = 0
    S[S_BA] = 0
    S[S_BOOK_VALID] = 0


@_jit
def _snapshot_lifecycle(S, action, flags):
    """book_valid / snapshot-in-progress bookkeeping; returns True when a snapshot completed."""
    was = S[S_SNAPSHOT]
    if action == ACTION_CLEAR and (flags & F_SNAPSHOT) != 0:
        S[S_SNAPSHOT] = 1
    if S[S_SNAPSHOT] and (flags & F_LAST) != 0:
        S[S_SNAPSHOT] = 0
        S[S_BOOK_VALID] = 1
    if not S[S_BOOK_VALID] and not S[S_SNAPSHOT]:
        S[S_BOOK_VALID] = 1
    return was == 1 and S[S_SNAPSHOT] == 0


# ---------------------------------------------------------------------------------------------
# Per-tick mechanics (SPEC 5)
# ---------------------------------------------------------------------------------------------
@_jit
def ema_alpha(dt, tau):
    """1 - exp(-dt/tau); 0 for dt <= 0; 1 when dt/tau > 50."""
    if dt <= 0.0:
        return 0.0
    ratio = dt / tau
    if ratio > 50.0:
        return 1.0
    return 1.0 - math.exp(-ratio)


@_jit_inline
def recompute_forces(F, idx):
    F[PRESSURE, idx] = (
        C1_V_ADD * F[V_ADD, idx]
        + C2_V_REST_POS * max(F[V_REST, idx], 0.0)
        + C3_A_ADD * max(F[A_ADD, idx], 0.0)
    )
    F[VACUUM, idx] = (
        C4_V_PULL * F[V_PULL, idx]
        + C5_V_FILL * F[V_FILL, idx]
        + C6_V_REST_NEG * max(-F[V_REST, idx], 0.0)
        + C7_A_PULL * max(F[A_PULL, idx], 0.0)
    )


@_jit
def touch(F, TT, TE, D, idx, add_d, pull_d, fill_d, ts, eid):
    """Apply one event's deltas to tick ``idx`` at time ``ts`` (ns) with event id ``eid``."""
    if idx < 0 or idx >= TT.size:
        return
    touch_rest(F, TT, TE, np.float64(D[0, idx] + D[1, idx]), idx, add_d, pull_d, fill_d, ts, eid)


@_jit
def touch_rest(F, TT, TE, rest, idx, add_d, pull_d, fill_d, ts, eid):
    """``touch`` with the tick's resting depth after the event (bid + ask) given as ``rest``."""
    last = TT[idx]
    dt = 0.0
    if last > 0 and ts > last:
        dt = np.float64(ts - last) / 1e9
    prev_rest = F[REST_DEPTH, idx]
    F[REST_DEPTH, idx] = rest
    if dt > 0.0:
        decay = math.exp(-dt / TAU_REST_DECAY)
        F[ADD_MASS, idx] = F[ADD_MASS, idx] * decay + add_d
        F[PULL_MASS, idx] = F[PULL_MASS, idx] * decay + pull_d
        F[FILL_MASS, idx] = F[FILL_MASS, idx] * decay + fill_d
        av = ema_alpha(dt, TAU_V)
        aa = ema_alpha(dt, TAU_A)
        aj = ema_alpha(dt, TAU_J)
        # The four chains (add, pull, fill, rest_depth) step as one 4-lane vector, each lane
        # the scalar SPEC 5 step with the same operations (``simd.chain4_touch``).
        out = chain4_touch(
            (F[V_ADD, idx], F[V_PULL, idx], F[V_FILL, idx], F[V_REST, idx]),
            (F[A_ADD, idx], F[A_PULL, idx], F[A_FILL, idx], F[A_REST, idx]),
            (F[J_ADD, idx], F[J_PULL, idx], F[J_FILL, idx], F[J_REST, idx]),
            (add_d, pull_d, fill_d, F[REST_DEPTH, idx] - prev_rest),
            dt, av, aa, aj,
        )  # fmt: skip
        for c in range(4):
            F[V_ADD + c, idx] = out[c]
            F[A_ADD + c, idx] = out[4 + c]
            F[J_ADD + c, idx] = out[8 + c]
    else:
        F[ADD_MASS, idx] += add_d
        F[PULL_MASS, idx] += pull_d
        F[FILL_MASS, idx] += fill_d
    recompute_forces(F, idx)
    TE[idx] = eid
    TT[idx] = ts


@_jit
def sync_rest_depth(F, D, S):
    """rest_depth of every tick := bid + ask depth (after a snapshot or a (re)anchor)."""
    if S[S_ANCHOR] < 0:
        return
    for i in range(D.shape[1]):
        F[REST_DEPTH, i] = np.float64(D[0, i] + D[1, i])


# ---------------------------------------------------------------------------------------------
# Event application
# ---------------------------------------------------------------------------------------------
@_jit
def book_event(D, OK, OV, OU, S, action, side, price, size, oid, flags):
    """One record's book change and anchoring; returns its event id, the ticks it touches,
    and whether every tick's ``rest_depth`` must now be synced to the depth (a completed
    snapshot or a new anchor, on the grid): ``(eid, t0, add0, pull0, fill0, t1, add1, sync)``
    (-1: no tick). The caller applies the sync, then ``touch`` for the ticks. The pre-warmup
    book (SPEC 11.1) writes no per-tick state, so it ignores both."""
    S[S_EVENTS] += 1
    eid = S[S_EVENTS]
    completed = _snapshot_lifecycle(S, action, flags)
    # Up to two touched ticks: (idx, add, pull, fill).
    t0 = -1
    a0 = 0.0
    p0 = 0.0
    f0 = 0.0
    t1 = -1
    a1 = 0.0
    if action == ACTION_CLEAR:
        _clear_book(D, OU, S)
    elif action == ACTION_ADD:
        t0 = _add_order(D, OK, OV, OU, S, side, price, size, oid)
        a0 = np.float64(size)
    elif action == ACTION_CANCEL:
        s = table_find(OK, OU, S, oid)
        if s >= 0:
            t0 = OV[s, O_IDX]
            removed = _cancel_order(D, OK, OV, OU, S, s, size)
            p0 = np.float64(removed)
            if removed == 0:
                t0 = -1  # fix switch: a cancel confirming an earlier fill changes nothing
        else:
            S[S_UNKNOWN] += 1
    elif action == ACTION_MODIFY:
        s = table_find(OK, OU, S, oid)
        if s >= 0:
            old_idx = OV[s, O_IDX]
            old_qty = OV[s, O_QTY]
            new_idx = _modify_order(D, OK, OV, OU, S, s, side, price, size, oid)
            if old_idx != new_idx:
                t0 = old_idx
                p0 = np.float64(old_qty)
                t1 = new_idx
                a1 = np.float64(size)
            else:
                t0 = new_idx
                diff = size - old_qty
                if diff > 0:
                    a0 = np.float64(diff)
                elif diff < 0:
                    p0 = np.float64(-diff)
        else:
            S[S_UNKNOWN] += 1
            new_idx = _modify_order(D, OK, OV, OU, S, -1, side, price, size, oid)
            if S[S_FIX]:
                # Fix of the iceberg defect: an unknown-order modify is an add at its tick.
                t0 = new_idx
                a0 = np.float64(size)
    elif action == ACTION_FILL:
        s = table_find(OK, OU, S, oid)
        if s >= 0:
            t0 = OV[s, O_IDX]
            f0 = np.float64(size)
            _fill_order(D, OK, OV, OU, S, s, size)
        else:
            S[S_UNKNOWN] += 1
    just_set = _try_set_anchor(D, OV, OU, S, flags)
    return eid, t0, a0, p0, f0, t1, a1, (completed or just_set) and S[S_ANCHOR] >= 0


@_jit
def run_book_only(EV, start, stop, stop_ts, F, D, OK, OV, OU, S):
    """Book-only records from ``start`` until the first with ts >= stop_ts (or, before it, a
    full order table: see ``table_full``); returns that index."""
    i = start
    while i < stop:
        e = EV[i]
        if e.ts >= stop_ts or table_full(S):
            break
        book_event(D, OK, OV, OU, S, e.action, e.side, e.price, e.size, e.order_id, e.flags)
        i += 1
        if S[S_ERROR] != ERR_NONE:
            break
    return i


@_jit
def run_until_bin_end(
    EV, start, stop, skip_before, warm_before, bin_end,
    F, TT, TE, D, OK, OV, OU, S, CS,
):  # fmt: skip
    """Process records until the first one that belongs to a later bin.

    Records with ts < ``skip_before`` are dropped (they precede the warmup), records with
    ts < ``warm_before`` are warmup (full mechanics, not counted in the bin), the others are
    counted in the current bin until one with ts >= ``bin_end`` arrives (that one is not
    processed) or the order table is full (``table_full``). With ``CS[CS_CORE]`` set, every
    record first goes through the core path's anchoring rules, before the bin decision as in
    the reference (re-checking the stopping record on the next call is a no-op). Eager
    passive advance only (the deferred core path runs ``run_book_logged``). Returns
    (next index, records counted in the bin).
    """
    core = CS[CS_CORE] != 0
    i = start
    counted = 0
    while i < stop:
        e = EV[i]
        ts = e.ts
        if ts < skip_before:
            i += 1
            continue
        # (The calls pass ~20 arrays field by field: skip them where they would do nothing.)
        if core and (S[S_ANCHOR] < 0 or CS[CS_SOFT_DONE] == 0):
            _core_pre_event(F, TT, TE, D, OK, OV, OU, S, CS, ts, e.action, e.price)
        if ts >= warm_before and ts >= bin_end:
            break
        if table_full(S):
            break  # the engine grows the table and calls again from i
        eid, t0, a0, p0, f0, t1, a1, sync = book_event(
            D, OK, OV, OU, S, e.action, e.side, e.price, e.size, e.order_id, e.flags
        )
        if sync:
            sync_rest_depth(F, D, S)
        if t0 >= 0:
            touch(F, TT, TE, D, t0, a0, p0, f0, ts, eid)
        if t1 >= 0:
            touch(F, TT, TE, D, t1, a1, 0.0, 0.0, ts, eid)
        CS[CS_COUNT] += 1
        if ts >= warm_before:
            counted += 1
        i += 1
        if S[S_ERROR] != ERR_NONE:
            break
    return i, counted


# ---------------------------------------------------------------------------------------------
# Passive time advance (SPEC 5, 11.5): exponentials come from NumPy (as in the reference)
# ---------------------------------------------------------------------------------------------
@_jit
def split_active_ticks(TT, ts, width, uni, oth):
    """Ticks with 0 < last_ts < ts, split into those last updated exactly ``width`` ns before
    ``ts`` (``uni``: one shared set of decay factors) and the others (``oth``)."""
    mu = 0
    mo = 0
    for i in range(TT.size):
        t = TT[i]
        if t > 0 and t < ts:
            if ts - t == width:
                uni[mu] = i
                mu += 1
            else:
                oth[mo] = i
                mo += 1
    return mu, mo


@_jit_inline
def _advance_tick(F, i, d, rest_decay, alpha_a, alpha_j, keep_v, keep_a, keep_j):
    """One zero-input passive advance of tick i (SPEC 5, 11.5)."""
    _advance_tick_steps(F, i, 1, d, rest_decay, alpha_a, alpha_j, keep_v, keep_a, keep_j)


@_jit
def passive_advance(
    F, TT, ts, uni, u, oth, dt, rest_decay, alpha_a, alpha_j, keep_v, keep_a, keep_j
):
    """Zero-input decay of active ticks to ``ts`` with precomputed factors.

    ``u`` = (dt, rest_decay, alpha_a, alpha_j, keep_v, keep_a, keep_j) shared by the ticks in
    ``uni``; the ticks in ``oth`` take the per-tick arrays. Factors come from NumPy's ``exp``
    (see ``AbsoluteTickEngine.advance_time``).
    """
    for m in range(uni.size):
        i = uni[m]
        _advance_tick(F, i, u[0], u[1], u[2], u[3], u[4], u[5], u[6])
        TT[i] = ts
    for m in range(oth.size):
        i = oth[m]
        _advance_tick(
            F, i, dt[m], rest_decay[m], alpha_a[m], alpha_j[m], keep_v[m], keep_a[m], keep_j[m]
        )
        TT[i] = ts


# ---------------------------------------------------------------------------------------------
# Deferred passive advance (core path): the same advances, applied when a tick is next read
# ---------------------------------------------------------------------------------------------
# The eager advance visits every active tick at every bin end. Deferred, the bin end only moves
# a clock; a tick catches up on the advances it missed, one by one with the very same
# operations and factors, when an event touches it or the grid is read (``materialize_all``).
# Its first missed advance is at the end of the bin its last touch was processed in (index
# ``NK[i]``: bin k ends at emit_after + k * width), with dt = that bin end - the touch; the
# factors for it are NumPy's, computed per record before the kernel runs and kept per tick in
# ``PF``. Every later one is exactly one bin width and uses ``PF[n_ticks]``, the uniform row.
# (A late record, older than the current bin, is processed in the current bin: the eager
# advance then also takes dt = current bin end - its ts.)

# Slots of the deferred-advance scalar vector ``DA``.
DA_ON = 0  # 1: deferred mode
DA_EMIT_AFTER = 1  # start of bin 0 (ns); bin k ends at emit_after + k * width, k >= 1
DA_WIDTH = 2  # bin width (ns)
DA_CLOCK_K = 3  # the grid stands at the end of this bin (0: no bin end yet)
N_DEFERRED_SCALARS = 4
N_FACTORS = 7  # dt, rest_decay, alpha_a, alpha_j, keep_v, keep_a, keep_j


@_jit
def catch_up_tick(F, TT, DA, NK, PF, i):
    """Apply to tick i every passive advance it missed, up to the bin ``DA[DA_CLOCK_K]``."""
    k = NK[i]
    clock_k = DA[DA_CLOCK_K]
    if TT[i] <= 0 or k <= 0 or k > clock_k:
        return
    width = DA[DA_WIDTH]
    u = PF.shape[0] - 1
    r = u if DA[DA_EMIT_AFTER] + k * width - TT[i] == width else i
    _advance_tick(F, i, PF[r, 0], PF[r, 1], PF[r, 2], PF[r, 3], PF[r, 4], PF[r, 5], PF[r, 6])
    steps = clock_k - k
    if steps > 0:
        _advance_tick_steps(
            F, i, steps, PF[u, 0], PF[u, 1], PF[u, 2], PF[u, 3], PF[u, 4], PF[u, 5], PF[u, 6]
        )
    TT[i] = DA[DA_EMIT_AFTER] + clock_k * width
    NK[i] = clock_k + 1


@_jit_inline
def _advance_tick_steps(F, i, steps, d, rest_decay, alpha_a, alpha_j, keep_v, keep_a, keep_j):
    """``steps`` zero-input advances of tick i with the same factors, in registers: the masses
    and each chain evolve independently, and pressure/vacuum depend only on the final values.

    A tick idle for ~25 min has every v/a/j exactly 0 (its masses decay for hours). For a zero
    chain the full step gives, bit for bit: v' = keep_v*v (same signed zero), a' = +0.0 and
    j' = +0.0 (x - x = +0, then +0 + (+/-0) = +0), and stays there: write that directly.
    """
    settled = True
    for row in range(V_ADD, J_REST + 1):
        if F[row, i] != 0.0:
            settled = False
            break
    if settled:
        m0, m1, m2 = F[ADD_MASS, i], F[PULL_MASS, i], F[FILL_MASS, i]
        for _ in range(steps):
            m0 *= rest_decay
            m1 *= rest_decay
            m2 *= rest_decay
        F[ADD_MASS, i], F[PULL_MASS, i], F[FILL_MASS, i] = m0, m1, m2
        for row in range(A_ADD, J_REST + 1):
            F[row, i] = 0.0
    else:
        # The four chains (add, pull, fill, rest_depth) step as one 4-lane vector, with the
        # scalar operations lane by lane, and the masses decay alongside (``simd``; 2.6 ns
        # per step instead of 18 + 1.2).
        v = (F[V_ADD, i], F[V_PULL, i], F[V_FILL, i], F[V_REST, i])
        a = (F[A_ADD, i], F[A_PULL, i], F[A_FILL, i], F[A_REST, i])
        j = (F[J_ADD, i], F[J_PULL, i], F[J_FILL, i], F[J_REST, i])
        m = (F[ADD_MASS, i], F[PULL_MASS, i], F[FILL_MASS, i], 0.0)
        args = (steps, d, alpha_a, alpha_j, keep_v, keep_a, keep_j, rest_decay)
        out = chain4_steps_unchecked(v, a, j, m, *args)
        for c in range(12):
            if not math.isfinite(out[c]):  # rare: redo with the per-step sanitising
                out = chain4_steps(v, a, j, m, *args)
                break
        for c in range(4):
            F[V_ADD + c, i] = out[c]
            F[A_ADD + c, i] = out[4 + c]
            F[J_ADD + c, i] = out[8 + c]
        for c in range(3):
            F[ADD_MASS + c, i] = out[12 + c]
    recompute_forces(F, i)
    if not math.isfinite(F[PRESSURE, i]):
        F[PRESSURE, i] = 0.0
    if not math.isfinite(F[VACUUM, i]):
        F[VACUUM, i] = 0.0


@_jit
def materialize_all(F, TT, DA, NK, PF):
    """Bring every tick up to bin ``DA[DA_CLOCK_K]``'s end (the grid as the eager advance
    leaves it)."""
    clock_k = DA[DA_CLOCK_K]
    for i in range(TT.size):
        k = NK[i]
        if 0 < k <= clock_k and TT[i] > 0:  # the call is not free: test here (few are pending)
            catch_up_tick(F, TT, DA, NK, PF, i)


@_jit
def _touch_deferred_rest(
    F, TT, TE, DA, NK, PF, FAC, r, bin_k, idx, add_d, pull_d, fill_d, rest, ts, eid
):  # fmt: skip
    """``touch_rest`` after catching the tick up (deferred passive advance); its next
    advance is the end of bin ``bin_k``, with record r's factors ``FAC[:, r]``."""
    catch_up_tick(F, TT, DA, NK, PF, idx)
    touch_rest(F, TT, TE, rest, idx, add_d, pull_d, fill_d, ts, eid)
    NK[idx] = bin_k
    for c in range(N_FACTORS):
        PF[idx, c] = FAC[c, r]


# ---------------------------------------------------------------------------------------------
# Core path (SPEC 7): anchor from the first priced event, one soft re-anchor, full grid
# ---------------------------------------------------------------------------------------------
# Slots of the core-path scalar vector ``CS``.
CS_COUNT = 0  # records processed by this run (warmup + bins)
CS_SOFT_DONE = 1  # 1 once the soft re-anchor was applied
CS_SOFT_AT_NS = 2  # soft re-anchor time trigger (09:30 ET), ns
CS_SOFT_AT_COUNT = 3  # soft re-anchor count trigger (10,000 records)
CS_SOFT_EVENT = 4  # event id at which the soft re-anchor happened
CS_CORE = 5  # 1: core-path anchoring rules are on
N_CORE_SCALARS = 6


@_jit
def _core_pre_event(F, TT, TE, D, OK, OV, OU, S, CS, ts, action, price):
    """Anchor from the first priced A/M/F/C event, then try the one-time soft re-anchor."""
    code = core_anchoring(D, OK, OV, OU, S, CS, ts, action, price)
    if code == TICKS_RESET:
        F[:, :] = 0.0
        TT[:] = 0
        TE[:] = 0
    if code != TICKS_KEEP:
        sync_rest_depth(F, D, S)


TICKS_KEEP = 0  # the per-tick state stays as it is
TICKS_SYNC = 1  # every tick's rest_depth := its depth
TICKS_RESET = 2  # every tick's state, timestamp and last event id := 0, then the sync


@_jit
def core_anchoring(D, OK, OV, OU, S, CS, ts, action, price):
    """The book side of ``_core_pre_event``; returns what the per-tick state needs
    (``TICKS_KEEP``, ``TICKS_SYNC`` after the first anchor, ``TICKS_RESET`` after the soft
    re-anchor, which also covers a first anchor on the same record)."""
    code = TICKS_KEEP
    if S[S_ANCHOR] < 0 and price > 0 and (
        action == ACTION_ADD or action == ACTION_MODIFY or action == ACTION_FILL
        or action == ACTION_CANCEL
    ):  # fmt: skip
        S[S_ANCHOR] = np.int64(math.floor(np.float64(price) / np.float64(S[S_TICK]) + 0.5))
        rebuild_depth(D, OV, OU, S)
        code = TICKS_SYNC
    if (
        CS[CS_SOFT_DONE] == 0
        and S[S_ANCHOR] >= 0
        and (ts >= CS[CS_SOFT_AT_NS] or CS[CS_COUNT] >= CS[CS_SOFT_AT_COUNT])
    ):
        bb, ba = raw_bbo_from_orders(OV, OU, S)
        if bb > 0 and ba > 0:
            S[S_BB] = bb
            S[S_BA] = ba
            S[S_ANCHOR] = anchor_tick_from_bbo(bb, ba, S[S_TICK])
            rebuild_depth(D, OV, OU, S)
            CS[CS_SOFT_DONE] = 1
            CS[CS_SOFT_EVENT] = S[S_EVENTS]
            code = TICKS_RESET
    return code


# ---------------------------------------------------------------------------------------------
# Logged core path: the book runs a whole chunk in one call, the mechanics replay its log
# ---------------------------------------------------------------------------------------------
# ``run_book_logged`` applies a chunk's records to the book and the core-path anchoring, and
# writes, in processing order, everything the per-tick mechanics would have done with them:
# one entry per touched tick (``LOGI`` row: tick, event id, ts, bin index, record index;
# ``LOGF`` row: add, pull, fill, resting depth after the event) and one per sync or reset of
# every tick (``LOGI`` row: LOG_SYNC or LOG_RESET, the bin index, the ``SYN`` row holding each
# tick's resting depth then). It also writes a header row per bin it closes (``HDR``).
# ``apply_log`` replays entries on the per-tick state: the very operations, in the very order,
# of ``run_until_bin_end`` in deferred mode, so the grid is bit-identical, whenever it is read.

LOG_SYNC = -1
LOG_RESET = -2
LOGI_IDX, LOGI_EID, LOGI_TS, LOGI_BIN, LOGI_REC = 0, 1, 2, 3, 4
N_LOGI = 5
N_LOGF = 4  # add, pull, fill, rest
# A record writes at most four entries: the anchoring's sync or reset, the snapshot's or new
# anchor's sync, and two touched ticks; and at most two SYN rows.
LOG_PER_RECORD = 4
SYN_PER_RECORD = 2

# Columns of a header row (``HDR``): the bin closed by a record of a later bin.
H_COUNTED, H_BB, H_BA, H_VALID, H_EVENTS, H_ANCHOR, H_LOG, H_NEXT_END = 0, 1, 2, 3, 4, 5, 6, 7
N_HDR = 8

# Slots of the logged run's state vector ``LS`` (positions survive between calls).
LS_LOG, LS_SYN, LS_HDR, LS_BIN_END, LS_COUNTED = 0, 1, 2, 3, 4
N_LS = 5


@_jit
def _log_ticks(LOGI, SYN, D, S, LS, code, bin_k):
    """Log a sync (``TICKS_SYNC``) or reset (``TICKS_RESET``) of every tick."""
    p = LS[LS_LOG]
    q = LS[LS_SYN]
    LOGI[p, LOGI_IDX] = LOG_RESET if code == TICKS_RESET else LOG_SYNC
    LOGI[p, LOGI_BIN] = bin_k
    LOGI[p, LOGI_REC] = q
    for i in range(D.shape[1]):
        SYN[q, i] = np.float64(D[0, i] + D[1, i])
    LS[LS_LOG] = p + 1
    LS[LS_SYN] = q + 1


@_jit
def _log_touch(LOGI, LOGF, D, LS, idx, add_d, pull_d, fill_d, ts, eid, bin_k, r):
    p = LS[LS_LOG]
    LOGI[p, LOGI_IDX] = idx
    LOGI[p, LOGI_EID] = eid
    LOGI[p, LOGI_TS] = ts
    LOGI[p, LOGI_BIN] = bin_k
    LOGI[p, LOGI_REC] = r
    LOGF[p, 0] = add_d
    LOGF[p, 1] = pull_d
    LOGF[p, 2] = fill_d
    LOGF[p, 3] = np.float64(D[0, idx] + D[1, idx])
    LS[LS_LOG] = p + 1


@_jit
def run_book_logged(
    EV, start, stop, skip_before, warm_before, D, OK, OV, OU, S, CS, DA, FBE, LOGI, LOGF, SYN,
    HDR, LS,
):  # fmt: skip
    """The core path's record loop (``run_until_bin_end`` in deferred mode, and the bin
    clock around it) for a whole chunk, with the per-tick work logged instead of done.

    Bins close inside: a record at or past the bin end ``LS[LS_BIN_END]`` writes the closed
    bin's header row (records counted, top of book, event count and anchor as they stand
    after the record's anchoring step, the log position, and ``FBE[i]``, the end of the bin
    the record opens; the bins between are empty). Stops before a record when the order
    table, the log, ``SYN`` or ``HDR`` has no room for it, or after an error; returns the
    index of the next record."""
    core = CS[CS_CORE] != 0
    emit_after = DA[DA_EMIT_AFTER]
    width = DA[DA_WIDTH]
    bin_end = LS[LS_BIN_END]
    bin_k = (bin_end - emit_after) // width
    counted = LS[LS_COUNTED]
    i = start
    while i < stop:
        e = EV[i]
        ts = e.ts
        if ts < skip_before:
            i += 1
            continue
        if (
            table_full(S)
            or LS[LS_LOG] + LOG_PER_RECORD > LOGI.shape[0]
            or LS[LS_SYN] + SYN_PER_RECORD > SYN.shape[0]
            or LS[LS_HDR] >= HDR.shape[0]
        ):
            break
        if core and (S[S_ANCHOR] < 0 or CS[CS_SOFT_DONE] == 0):
            code = core_anchoring(D, OK, OV, OU, S, CS, ts, e.action, e.price)
            if code != TICKS_KEEP:
                _log_ticks(LOGI, SYN, D, S, LS, code, bin_k)
        if ts >= warm_before and ts >= bin_end:
            h = LS[LS_HDR]
            HDR[h, H_COUNTED] = counted
            HDR[h, H_BB] = S[S_BB]
            HDR[h, H_BA] = S[S_BA]
            HDR[h, H_VALID] = S[S_BOOK_VALID]
            HDR[h, H_EVENTS] = S[S_EVENTS]
            HDR[h, H_ANCHOR] = S[S_ANCHOR]
            HDR[h, H_LOG] = LS[LS_LOG]
            HDR[h, H_NEXT_END] = FBE[i]
            LS[LS_HDR] = h + 1
            bin_end = FBE[i]
            bin_k = (bin_end - emit_after) // width
            counted = 0
        if FBE[i] != bin_end:
            S[S_ERROR] = ERR_FACTORS
            S[S_ERROR_A] = i
            break
        eid, t0, a0, p0, f0, t1, a1, sync = book_event(
            D, OK, OV, OU, S, e.action, e.side, e.price, e.size, e.order_id, e.flags
        )
        if sync:
            _log_ticks(LOGI, SYN, D, S, LS, TICKS_SYNC, bin_k)
        if t0 >= 0:
            _log_touch(LOGI, LOGF, D, LS, t0, a0, p0, f0, ts, eid, bin_k, i)
        if t1 >= 0:
            _log_touch(LOGI, LOGF, D, LS, t1, a1, 0.0, 0.0, ts, eid, bin_k, i)
        CS[CS_COUNT] += 1
        if ts >= warm_before:
            counted += 1
        i += 1
        if S[S_ERROR] != ERR_NONE:
            break
    LS[LS_BIN_END] = bin_end
    LS[LS_COUNTED] = counted
    return i


@_jit
def apply_log(F, TT, TE, DA, NK, PF, FAC, LOGI, LOGF, SYN, start, stop):
    """Replay log entries ``start:stop`` on the per-tick state (deferred passive advance):
    each touch first moves the clock to the end of the bin before its own, as the bin loop
    does; ``FAC`` holds the chunk's per-record factors (``record_factors``)."""
    for p in range(start, stop):
        idx = LOGI[p, LOGI_IDX]
        if idx >= 0:
            DA[DA_CLOCK_K] = LOGI[p, LOGI_BIN] - 1
            _touch_deferred_rest(
                F, TT, TE, DA, NK, PF, FAC, LOGI[p, LOGI_REC], LOGI[p, LOGI_BIN], idx,
                LOGF[p, 0], LOGF[p, 1], LOGF[p, 2], LOGF[p, 3], LOGI[p, LOGI_TS],
                LOGI[p, LOGI_EID],
            )  # fmt: skip
            continue
        if idx == LOG_RESET:
            F[:, :] = 0.0
            TT[:] = 0
            TE[:] = 0
        q = LOGI[p, LOGI_REC]
        for i in range(F.shape[1]):
            F[REST_DEPTH, i] = SYN[q, i]
