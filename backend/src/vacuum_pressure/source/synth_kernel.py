"""Numba kernel of the synthetic MNQ market (FEATURES.md).

The model is a queue-reactive order book (Huang, Lehalle & Rosenbaum 2015): near the touch, the
intensity of limit adds falls with the queue size, cancels and modifies are per resting order, and
market orders hit the touch; deeper levels are refreshed by a slow background add/cancel process
that keeps hundreds of levels populated. Market orders self-excite (an exponential Hawkes kernel
per side, Bacry, Mastromatteo & Muzy 2015), and a global multiplier carries the regime
(quiet/normal/fast) and the decaying 09:30 ET open burst. Price moves are jumps: at Poisson times
one burst sweeps (and partly pulls) the levels of one side and re-quotes the other side behind the
new price within a few milliseconds, in a random direction, so nothing public predicts a jump's
direction. With the planted effect on, a precursor window before each jump withdraws liquidity
near the touch on the side about to be swept and stacks adds on the other side.

Everything here is one Gillespie loop over typed arrays; the orchestration (parameters, encoding,
files) lives in ``synthetic.py``. The kernel writes raw DBN MBO fields into preallocated columns
and returns how many records it wrote, -1 when the columns were too short (the caller retries
with more room), or ``POOL_FULL`` when more orders rest at once than the order pool holds.
"""

# The kernel draws from numba's per-thread legacy RNG (np.random.seed/random inside njit): it is
# fast, seeded once per run and deterministic; numba does not compile np.random.Generator calls.
# ruff: noqa: NPY002

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ..events import F_BAD_TS_RECV, F_LAST, F_SNAPSHOT, UNDEF_PRICE

ORDER_POOL = 1 << 20
"""Resting orders the simulation can hold at once (slots are reused as orders leave)."""
POOL_FULL = -2
"""``simulate``'s first result when the resting-order pool ran out (a bigger buffer won't help)."""

IntLike = int | np.integer[Any]
"""Integer arguments of the helper kernels (Python ints or NumPy scalars from the arrays)."""

N_SLOTS = 16384
"""Absolute tick slots simulated around the start price (orders beyond them are never simulated)."""

N_NEAR = 20
"""Levels from each side's touch driven by the queue-reactive intensities (0 = the touch)."""

# Action and side bytes as written into the DBN record (ASCII).
CH_ADD = ord("A")
CH_CANCEL = ord("C")
CH_MODIFY = ord("M")
CH_FILL = ord("F")
CH_TRADE = ord("T")
CH_CLEAR = ord("R")
CH_BID = ord("B")
CH_ASK = ord("A")
CH_NONE = ord("N")

# Indices into the float64 parameter vector built by synthetic.SynthParams.to_vector().
P_TICK_INT = 0
P_START_TICK = 1
P_ADD_TOUCH = 2  # touch add intensity at an empty queue (1/s per side)
P_ADD_QREF = 3  # queue size (contracts) at which touch adds halve
P_ADD_NEAR = 4  # add intensity at level 1 (1/s per side); decays geometrically with depth
P_ADD_NEAR_DECAY = 5
P_CANCEL_TOUCH = 6  # per-order cancel rate at the touch (1/s)
P_CANCEL_NEAR = 7  # per-order cancel rate at levels 1..N_NEAR-1 (1/s)
P_MODIFY_NEAR = 8  # per-order modify rate at levels 1..N_NEAR-1 (1/s)
P_MODIFY_PRICE_FRAC = 9  # share of modifies that move the order's price
P_MARKET = 10  # market order intensity per side (1/s)
P_HAWKES_JUMP = 11  # market-order intensity jump per market order on the same side (1/s)
P_HAWKES_TAU = 12  # decay time of the Hawkes excitation (s)
P_SPREAD_FILL = 13  # add intensity inside a spread wider than one tick (1/s per side)
P_DEEP_ADD = 14  # background add intensity behind the touch (1/s per side)
P_DEEP_CANCEL = 15  # per-order cancel rate of the background orders (1/s)
P_DEEP_LEVELS = 16  # background adds land uniformly on levels 1..DEEP_LEVELS-1
P_SNAP_DEPTH = 17  # snapshot depth per deep level (contracts)
P_OPEN_REL_S = 18  # 09:30 ET open, seconds after the start (may be negative)
P_OPEN_AMP = 19  # extra activity multiplier at the open
P_OPEN_TAU = 20  # decay time of the open burst (s)
P_DURATION_S = 21
P_PRECURSOR_S = 22  # precursor window before each jump (s)
P_PLANTED = 23  # 1.0: precursors on; 0.0: null control
P_VAC_CANCEL_MULT = 24  # cancel multiplier on the approached side near the touch
P_VAC_ADD_MULT = 25  # add multiplier on the approached side near the touch
P_STACK_RATE = 26  # planted stacking adds per second and level on the trailing side
P_PLANT_LEVELS = 27  # levels 1..PLANT_LEVELS behind the touch that the planted vacuum empties
P_JUMP_PULL = 28  # share of the swept orders that are cancelled instead of filled
P_MOVE_MIN = 29  # jump size, ticks: MIN + exponential(mean MOVE_EXTRA), capped at MOVE_MAX
P_MOVE_EXTRA = 30
P_MOVE_MAX = 31
P_JUMP_GAP_NS = 32  # ns between consecutive packets of a jump
P_OPEN_MOVE_MULT = 33  # jump rate multiplier at the open (decays with OPEN_TAU)
P_ORDER_ID0 = 34
P_N_STUBS = 35
P_RECV_LAT_NS = 36  # minimum ts_recv - ts_event (ns)
P_RECV_JIT_NS = 37  # mean extra exponential latency (ns)
P_STACK_LEVELS = 38  # levels from the trailing touch that receive the planted stacking
P_MODIFY_TOUCH = 39  # per-order modify rate at the touch (1/s)
P_PRECURSOR_JITTER = 40  # extra uniform precursor length, 0..JITTER (s)
P_MOVE_GAP_S = 41  # pause after a jump before the next precursor may start (s)
P_SNAP_NEAR_DEPTH = 42  # snapshot depth per level 0..N_NEAR-1 (contracts)
P_STACK_SIZE = 43  # planted stacking orders are this many times an ordinary add's size
N_PARAMS = 44

# Regime table columns (one row per regime: quiet, normal, fast).
R_MULT = 0  # activity multiplier
R_MOVE_RATE = 1  # jumps per second
R_MEAN_DUR = 2  # mean regime duration (s)
R_MOVE_SCALE = 3  # multiplier of the jump size's exponential part
N_REGIME_COLS = 4

# Move log columns.
MV_T0 = 0  # precursor start, ns since the start time
MV_T1 = 1  # jump start, ns since the start time
MV_DIR = 2  # +1 up, -1 down
MV_TARGET = 3  # ticks the approached touch is moved
MV_MID0 = 4  # mid at MV_T1, in half ticks from the start tick
MV_REGIME = 5
N_MV_COLS = 6

PHASE_IDLE = 0
PHASE_PRECURSOR = 1


@numba.njit(cache=True)
def _draw(cdf: np.ndarray, values: np.ndarray) -> int:
    """One value from a discrete distribution given its cumulative probabilities."""
    u = np.random.random() * cdf[-1]
    return int(values[np.searchsorted(cdf, u)])


@numba.njit(cache=True)
def _exp(mean: float) -> float:
    return -mean * np.log(1.0 - np.random.random())


@numba.njit(cache=True)
def _put(
    o_ts: np.ndarray,
    o_recv: np.ndarray,
    o_delta: np.ndarray,
    o_oid: np.ndarray,
    o_px: np.ndarray,
    o_size: np.ndarray,
    o_flags: np.ndarray,
    o_action: np.ndarray,
    o_side: np.ndarray,
    o_seq: np.ndarray,
    n: IntLike,
    ts: IntLike,
    recv: IntLike,
    delta: IntLike,
    oid: np.uint64,
    px: IntLike,
    size: IntLike,
    flags: IntLike,
    action: IntLike,
    side_ch: IntLike,
    seq: np.uint32,
) -> int:
    """Write one record at row ``n``; return the next row."""
    o_ts[n] = ts
    o_recv[n] = recv
    o_delta[n] = delta
    o_oid[n] = oid
    o_px[n] = px
    o_size[n] = size
    o_flags[n] = flags
    o_action[n] = action
    o_side[n] = side_ch
    o_seq[n] = seq
    return n + 1


@numba.njit(cache=True)
def _unlink(
    k: IntLike,
    side: IntLike,
    slot: IntLike,
    head: np.ndarray,
    tail: np.ndarray,
    q_prev: np.ndarray,
    q_next: np.ndarray,
) -> None:
    """Take pool entry ``k`` out of its level's FIFO queue."""
    if q_prev[k] >= 0:
        q_next[q_prev[k]] = q_next[k]
    else:
        head[side, slot] = q_next[k]
    if q_next[k] >= 0:
        q_prev[q_next[k]] = q_prev[k]
    else:
        tail[side, slot] = q_prev[k]


@numba.njit(cache=True)
def _retire(
    k: IntLike,
    side: IntLike,
    slot: IntLike,
    head: np.ndarray,
    tail: np.ndarray,
    q_prev: np.ndarray,
    q_next: np.ndarray,
    q_qty: np.ndarray,
    depth: np.ndarray,
    count: np.ndarray,
    q_alive: np.ndarray,
    free: np.ndarray,
    n_free: IntLike,
    alive_side: np.ndarray,
) -> int:
    """Remove resting order ``k`` from its level (queue, depth, count) and return its pool
    entry to the free list; returns the new free-list length."""
    _unlink(k, side, slot, head, tail, q_prev, q_next)
    depth[side, slot] -= q_qty[k]
    count[side, slot] -= 1
    q_alive[k] = False
    free[n_free] = k
    alive_side[side] -= 1
    return int(n_free) + 1


@numba.njit(cache=True)
def _append(
    k: IntLike,
    side: IntLike,
    slot: IntLike,
    head: np.ndarray,
    tail: np.ndarray,
    q_prev: np.ndarray,
    q_next: np.ndarray,
) -> None:
    """Put pool entry ``k`` at the back of its level's FIFO queue."""
    q_next[k] = -1
    q_prev[k] = tail[side, slot]
    if tail[side, slot] >= 0:
        q_next[tail[side, slot]] = k
    else:
        head[side, slot] = k
    tail[side, slot] = k


@numba.njit(cache=True)
def _rest(
    k: IntLike,
    side: IntLike,
    slot: IntLike,
    qty: IntLike,
    oid: np.uint64,
    stack: bool,
    q_oid: np.ndarray,
    q_side: np.ndarray,
    q_slot: np.ndarray,
    q_qty: np.ndarray,
    q_alive: np.ndarray,
    q_stack: np.ndarray,
    head: np.ndarray,
    tail: np.ndarray,
    q_prev: np.ndarray,
    q_next: np.ndarray,
    depth: np.ndarray,
    count: np.ndarray,
    alive_side: np.ndarray,
) -> None:
    """Make pool entry ``k`` a new resting order at the back of its level (queue, depth, count)."""
    q_oid[k] = oid
    q_side[k] = side
    q_slot[k] = slot
    q_qty[k] = qty
    q_alive[k] = True
    q_stack[k] = stack
    _append(k, side, slot, head, tail, q_prev, q_next)
    depth[side, slot] += qty
    count[side, slot] += 1
    alive_side[side] += 1


@numba.njit(cache=True)
def _trade(
    o_ts: np.ndarray,
    o_recv: np.ndarray,
    o_delta: np.ndarray,
    o_oid: np.ndarray,
    o_px: np.ndarray,
    o_size: np.ndarray,
    o_flags: np.ndarray,
    o_action: np.ndarray,
    o_side: np.ndarray,
    o_seq: np.ndarray,
    n: IntLike,
    side: IntLike,
    touch: IntLike,
    qty: IntLike,
    ts: IntLike,
    recv: IntLike,
    delta: IntLike,
    seq: np.uint32,
    aggr_oid: np.uint64,
    px: IntLike,
    depth: np.ndarray,
    count: np.ndarray,
    head: np.ndarray,
    tail: np.ndarray,
    q_oid: np.ndarray,
    q_qty: np.ndarray,
    q_next: np.ndarray,
    q_prev: np.ndarray,
    q_alive: np.ndarray,
    free: np.ndarray,
    n_free: IntLike,
    alive_side: np.ndarray,
) -> tuple[int, int, np.uint32]:
    """A market order of ``qty`` contracts (<= the touch depth) against level ``touch`` of ``side``.

    Written CME-style: T (aggressor side, the aggressor's own order id), one F per resting order
    filled from the head of the queue, then (next sequence number) a C per fully filled order or
    an M with the remaining size, the last with F_LAST. Returns (next row, n_free, sequence).
    """
    aggr_ch = CH_BID if side == 1 else CH_ASK  # a buyer lifts the asks
    side_ch = CH_BID if side == 0 else CH_ASK
    n = _put(
        o_ts, o_recv, o_delta, o_oid, o_px, o_size, o_flags, o_action, o_side, o_seq, n, ts,
        recv, delta, aggr_oid, px, qty, 0, CH_TRADE, aggr_ch, seq,
    )  # fmt: skip
    left = qty
    k = head[side, touch]
    first = n
    while left > 0:
        f = min(left, q_qty[k])
        n = _put(
            o_ts, o_recv, o_delta, o_oid, o_px, o_size, o_flags, o_action, o_side, o_seq, n, ts,
            recv, delta, q_oid[k], px, f, 0, CH_FILL, side_ch, seq,
        )  # fmt: skip
        left -= f
        k = q_next[k]
    # The book changes with the C (filled) or M (partially filled) records that follow.
    n_fills = n - first
    seq += np.uint32(1)
    for i in range(n_fills):
        k = head[side, touch]
        f = o_size[first + i]
        depth[side, touch] -= f
        if f >= q_qty[k]:
            size = q_qty[k]
            action = CH_CANCEL
            nxt = q_next[k]
            head[side, touch] = nxt
            if nxt >= 0:
                q_prev[nxt] = -1
            else:
                tail[side, touch] = -1
            count[side, touch] -= 1
            q_alive[k] = False
            free[n_free] = k
            n_free += 1
            alive_side[side] -= 1
        else:
            q_qty[k] -= f
            size = q_qty[k]
            action = CH_MODIFY
        flags = F_LAST if i == n_fills - 1 else 0
        n = _put(
            o_ts, o_recv, o_delta, o_oid, o_px, o_size, o_flags, o_action, o_side, o_seq, n, ts,
            recv, delta, q_oid[k], px, size, flags, action, side_ch, seq,
        )  # fmt: skip
    return n, int(n_free), seq


@numba.njit(cache=True)
def simulate(
    p: np.ndarray,
    regimes: np.ndarray,
    regime_trans: np.ndarray,
    add_cdf: np.ndarray,
    add_sizes: np.ndarray,
    trade_cdf: np.ndarray,
    trade_sizes: np.ndarray,
    seed: int,
    start_ns: int,
    o_ts: np.ndarray,
    o_recv: np.ndarray,
    o_delta: np.ndarray,
    o_oid: np.ndarray,
    o_px: np.ndarray,
    o_size: np.ndarray,
    o_flags: np.ndarray,
    o_action: np.ndarray,
    o_side: np.ndarray,
    o_seq: np.ndarray,
    moves: np.ndarray,
) -> tuple[int, int, int]:
    """Generate one session into the ``o_*`` columns; return (records, moves, ns simulated).

    Records is -1 when the columns were too short (the ns simulated then tells how far it got).

    Times are ns since the epoch (``start_ns`` = the snapshot's R record), prices price_int,
    sizes contracts. ``moves`` receives one MV_* row per scheduled move.
    """
    np.random.seed(seed)
    cap = o_ts.shape[0]
    tick_int = np.int64(p[P_TICK_INT])
    start_tick = np.int64(p[P_START_TICK])
    half = N_SLOTS // 2
    n_deep = int(p[P_DEEP_LEVELS])
    plant_lv = int(p[P_PLANT_LEVELS])
    planted = p[P_PLANTED] > 0.5

    # Book: per-side per-slot depth (contracts), order counts and FIFO queues of pool entries.
    depth = np.zeros((2, N_SLOTS), np.int64)
    count = np.zeros((2, N_SLOTS), np.int64)
    head = np.full((2, N_SLOTS), -1, np.int64)
    tail = np.full((2, N_SLOTS), -1, np.int64)
    pool = ORDER_POOL
    q_oid = np.zeros(pool, np.uint64)
    q_side = np.zeros(pool, np.int64)
    q_slot = np.zeros(pool, np.int64)
    q_qty = np.zeros(pool, np.int64)
    q_prev = np.full(pool, -1, np.int64)
    q_next = np.full(pool, -1, np.int64)
    q_alive = np.zeros(pool, np.bool_)
    q_stack = np.zeros(pool, np.bool_)  # a planted stacking order (pulled after its jump)
    free = np.empty(pool, np.int64)
    n_free = 0
    hi = 0  # pool high-water mark
    alive_side = np.zeros(2, np.int64)
    next_oid = np.uint64(p[P_ORDER_ID0])

    n = 0
    seq = np.uint32(1)
    t = np.int64(0)  # ns since start_ns

    # ---- snapshot at start_ns: R, then every resting order (F_SNAPSHOT | F_BAD_TS_RECV).
    snap_flags = F_SNAPSHOT | F_BAD_TS_RECV
    n = _put(
        o_ts, o_recv, o_delta, o_oid, o_px, o_size, o_flags, o_action, o_side, o_seq, n, start_ns,
        start_ns, 0, np.uint64(0), UNDEF_PRICE, 0, snap_flags, CH_CLEAR, CH_NONE, seq,
    )  # fmt: skip
    bb = half - 1  # best bid slot: start price - 1 tick ... best ask: start price
    ba = half
    deep_depth = p[P_SNAP_DEPTH]
    for side in range(2):
        for d in range(n_deep):
            slot = bb - d if side == 0 else ba + d
            # Thin near the touch (the queue-reactive levels' own equilibrium), full further out.
            level_depth = p[P_SNAP_NEAR_DEPTH] if d < N_NEAR else deep_depth
            target = level_depth * (0.6 + 0.8 * np.random.random())
            while depth[side, slot] < target:
                qty = _draw(add_cdf, add_sizes)
                k = hi
                hi += 1
                _rest(
                    k, side, slot, qty, next_oid, False, q_oid, q_side, q_slot, q_qty, q_alive,
                    q_stack, head, tail, q_prev, q_next, depth, count, alive_side,
                )  # fmt: skip
                next_oid += np.uint64(1)
                if n >= cap:
                    return -1, 0, int(t)
                # Snapshot orders carry their (older) entry time as ts_event.
                entered = start_ns - np.int64(_exp(1800.0) * 1e9) - 1
                n = _put(
                    o_ts, o_recv, o_delta, o_oid, o_px, o_size, o_flags, o_action, o_side, o_seq,
                    n, entered, start_ns, 0, q_oid[k], (start_tick + slot - half) * tick_int, qty,
                    snap_flags, CH_ADD, CH_BID if side == 0 else CH_ASK, seq,
                )  # fmt: skip
    # A few far stub orders, as real snapshots have: outside the simulated slots, never touched.
    n_stubs = int(p[P_N_STUBS])
    for j in range(n_stubs):
        if n >= cap:
            return -1, 0, int(t)
        side = j % 2
        far = 20000 + 3000 * j
        n = _put(
            o_ts, o_recv, o_delta, o_oid, o_px, o_size, o_flags, o_action, o_side, o_seq, n,
            start_ns - np.int64(86400e9) - j, start_ns, 0, next_oid,
            (start_tick - far if side == 0 else start_tick + far) * tick_int, 1 + j, snap_flags,
            CH_ADD, CH_BID if side == 0 else CH_ASK, seq,
        )  # fmt: skip
        next_oid += np.uint64(1)
    o_flags[n - 1] = snap_flags | F_LAST

    # ---- continuous trading.
    dur_ns = np.int64(p[P_DURATION_S] * 1e9)
    last_recv = np.int64(start_ns)
    regime = 0
    regime_end = np.int64(_exp(regimes[0, R_MEAN_DUR]) * 1e9)
    excite = np.zeros(2)  # Hawkes excitation of market orders hitting side 0 (bids) / 1 (asks)
    phase = PHASE_IDLE
    phase_end = np.int64(0)
    # Jump times are an inhomogeneous Poisson process: a jump starts when the integrated rate
    # reaches an exponential(1) draw, so the open burst and regime changes apply at once.
    # After a jump the schedule pauses MOVE_GAP_S (no precursor can start); the direction of the
    # next jump stays a fair coin, so the pause carries no directional information.
    hazard = 0.0
    hazard_goal = _exp(1.0)
    quiet_until = np.int64(0)
    mv_dir = 1
    mv_target = 0
    pre_a = 0  # approached touch slot at the precursor start
    pre_t = 0  # trailing touch slot at the precursor start
    n_moves = 0
    gap_ns = np.int64(p[P_JUMP_GAP_NS])
    stack_lv = int(p[P_STACK_LEVELS])
    rates = np.zeros((2, 4, N_NEAR))  # [side, kind(add, cancel, modify), level]
    # [side, kind(market, spread fill, deep add, deep cancel, planted stacking)]
    side_rates = np.zeros((2, 5))
    open_forced = False
    add_near = np.zeros(N_NEAR)
    for d in range(1, N_NEAR):
        add_near[d] = p[P_ADD_NEAR] * p[P_ADD_NEAR_DECAY] ** (d - 1)

    while True:
        # --- time-varying state: regime switches, open burst, jump schedule.
        ts_s = t / 1e9
        while t >= regime_end:
            u = np.random.random()
            acc = 0.0
            new = regime
            for r in range(regimes.shape[0]):
                acc += regime_trans[regime, r]
                if u < acc:
                    new = r
                    break
            regime = new
            regime_end = t + np.int64(_exp(regimes[regime, R_MEAN_DUR]) * 1e9) + 1
        since_open = ts_s - p[P_OPEN_REL_S]
        if since_open >= 0.0 and not open_forced:
            # The cash open starts in the fast regime.
            open_forced = True
            regime = regimes.shape[0] - 1
            regime_end = t + np.int64(_exp(regimes[regime, R_MEAN_DUR]) * 1e9) + 1
        burst = np.exp(-since_open / p[P_OPEN_TAU]) if since_open >= 0.0 else 0.0
        mult = regimes[regime, R_MULT] * (1.0 + p[P_OPEN_AMP] * burst)
        move_mult = 1.0 + p[P_OPEN_MOVE_MULT] * burst

        mid2 = bb + ba - 2 * half  # mid in half ticks from the start tick
        if phase == PHASE_IDLE and hazard >= hazard_goal:
            # A fair coin picks the direction (so no public information predicts it), leaning
            # back towards the start price only far away, to stay inside the simulated slots.
            lean = -mid2 / 2.0 / 1500.0
            up = np.random.random() < 1.0 / (1.0 + np.exp(-2.0 * lean))
            mv_dir = 1 if up else -1
            extra = _exp(p[P_MOVE_EXTRA] * regimes[regime, R_MOVE_SCALE])
            mv_target = int(min(p[P_MOVE_MIN] + extra, p[P_MOVE_MAX]))
            phase = PHASE_PRECURSOR
            # The planted effect acts on the levels as they are now (absolute slots): the touch
            # that the jump will leave and the one it will leave behind.
            pre_a = ba if up else bb
            pre_t = bb if up else ba
            pre_s = p[P_PRECURSOR_S] + p[P_PRECURSOR_JITTER] * np.random.random()
            phase_end = t + np.int64(pre_s * 1e9)
            if n_moves < moves.shape[0]:
                moves[n_moves, MV_T0] = t
                moves[n_moves, MV_T1] = phase_end
                moves[n_moves, MV_DIR] = mv_dir
                moves[n_moves, MV_TARGET] = mv_target
                moves[n_moves, MV_REGIME] = regime
        elif phase == PHASE_PRECURSOR and t >= phase_end:
            # --- the jump: within a few ms the approached side is swept (some orders pulled,
            # the rest hit level by level) until its touch moved mv_target ticks, then the
            # trailing side re-quotes every level of the gap, mirroring the depth profile of the
            # approached side, so the book right after looks like any other book.
            appr = 1 if mv_dir > 0 else 0
            trail = 1 - appr
            asg = 1 if appr == 1 else -1  # away from the mid on the approached side
            if n_moves < moves.shape[0]:
                moves[n_moves, MV_T1] = t
                moves[n_moves, MV_MID0] = mid2
            n_moves += 1
            ts_j = np.int64(start_ns + t)
            old_trail = bb if appr == 1 else ba
            goal = ba + mv_target if appr == 1 else bb - mv_target
            goal = min(max(goal, N_NEAR), N_SLOTS - 1 - N_NEAR)
            a_ch = CH_BID if appr == 0 else CH_ASK
            t_ch = CH_BID if trail == 0 else CH_ASK
            while True:
                lvl = ba if appr == 1 else bb
                if (lvl - goal) * asg >= 0:
                    break
                if n + 3 * count[appr, lvl] + 8 >= cap:
                    return -1, 0, int(t)
                px = (start_tick + lvl - half) * tick_int
                k = head[appr, lvl]
                while k >= 0:
                    nxt = q_next[k]
                    if np.random.random() < p[P_JUMP_PULL]:
                        ts_j += gap_ns
                        last_recv = max(last_recv, ts_j + np.int64(p[P_RECV_LAT_NS]))
                        seq += np.uint32(1)
                        n_free = _retire(
                            k, appr, lvl, head, tail, q_prev, q_next, q_qty, depth, count,
                            q_alive, free, n_free, alive_side,
                        )  # fmt: skip
                        n = _put(
                            o_ts, o_recv, o_delta, o_oid, o_px, o_size, o_flags, o_action,
                            o_side, o_seq, n, ts_j, last_recv, 12000, q_oid[k], px, q_qty[k],
                            F_LAST, CH_CANCEL, a_ch, seq,
                        )  # fmt: skip
                    k = nxt
                if depth[appr, lvl] > 0:
                    ts_j += gap_ns
                    last_recv = max(last_recv, ts_j + np.int64(p[P_RECV_LAT_NS]))
                    seq += np.uint32(1)
                    n, n_free, seq = _trade(
                        o_ts, o_recv, o_delta, o_oid, o_px, o_size, o_flags, o_action, o_side,
                        o_seq, n, appr, lvl, depth[appr, lvl], ts_j, last_recv, 12000, seq,
                        next_oid, px, depth, count, head, tail, q_oid, q_qty, q_next, q_prev,
                        q_alive, free, n_free, alive_side,
                    )  # fmt: skip
                    next_oid += np.uint64(1)
                if appr == 1:
                    while depth[1, ba] == 0 and ba < N_SLOTS - 1:
                        ba += 1
                else:
                    while depth[0, bb] == 0 and bb > 0:
                        bb -= 1
            new_a = ba if appr == 1 else bb
            for d in range(4 * N_NEAR):
                slot = new_a - asg * (d + 1)
                if (slot - old_trail) * asg <= 0:
                    break  # reached the trailing side's old touch: the gap is filled
                want = max(depth[appr, new_a + asg * d] * (0.7 + 0.6 * np.random.random()), 1.0)
                while depth[trail, slot] < want:
                    if n + 4 >= cap:
                        return -1, 0, int(t)
                    if n_free > 0:
                        n_free -= 1
                        k = free[n_free]
                    else:
                        k = hi
                        hi += 1
                        if hi >= pool:
                            return POOL_FULL, 0, int(t)
                    qty = _draw(add_cdf, add_sizes)
                    _rest(
                        k, trail, slot, qty, next_oid, False, q_oid, q_side, q_slot, q_qty,
                        q_alive, q_stack, head, tail, q_prev, q_next, depth, count, alive_side,
                    )  # fmt: skip
                    next_oid += np.uint64(1)
                    ts_j += gap_ns
                    last_recv = max(last_recv, ts_j + np.int64(p[P_RECV_LAT_NS]))
                    seq += np.uint32(1)
                    n = _put(
                        o_ts, o_recv, o_delta, o_oid, o_px, o_size, o_flags, o_action, o_side,
                        o_seq, n, ts_j, last_recv, 12000, q_oid[k],
                        (start_tick + slot - half) * tick_int, qty, F_LAST, CH_ADD, t_ch, seq,
                    )  # fmt: skip
                if trail == 0 and slot > bb:
                    bb = slot
                if trail == 1 and slot < ba:
                    ba = slot
            # Planted: the stack behind the move is pulled once the jump is done, so its pressure
            # ends with the move instead of lingering as a signal after it.
            t_sg = -1 if trail == 0 else 1
            for j in range(stack_lv if planted else 0):
                slot = pre_t + t_sg * j
                k = head[trail, slot]
                while k >= 0:
                    nxt = q_next[k]
                    if q_stack[k]:
                        if n + 4 >= cap:
                            return -1, 0, int(t)
                        ts_j += gap_ns
                        last_recv = max(last_recv, ts_j + np.int64(p[P_RECV_LAT_NS]))
                        seq += np.uint32(1)
                        n_free = _retire(
                            k, trail, slot, head, tail, q_prev, q_next, q_qty, depth, count,
                            q_alive, free, n_free, alive_side,
                        )  # fmt: skip
                        q_stack[k] = False
                        n = _put(
                            o_ts, o_recv, o_delta, o_oid, o_px, o_size, o_flags, o_action,
                            o_side, o_seq, n, ts_j, last_recv, 12000, q_oid[k],
                            (start_tick + slot - half) * tick_int, q_qty[k], F_LAST,
                            CH_CANCEL, t_ch, seq,
                        )  # fmt: skip
                    k = nxt
            if trail == 0:
                while depth[0, bb] == 0 and bb > 0:
                    bb -= 1
            else:
                while depth[1, ba] == 0 and ba < N_SLOTS - 1:
                    ba += 1
            t = ts_j - start_ns
            phase = PHASE_IDLE
            hazard = 0.0
            hazard_goal = _exp(1.0)
            quiet_until = t + np.int64(p[P_MOVE_GAP_S] * 1e9)
        if t >= dur_ns:
            break

        # --- component intensities (1/s), queue-reactive near the touch.
        approached = -1  # with the planted effect: the side the coming jump sweeps
        if planted and phase == PHASE_PRECURSOR:
            approached = 1 if mv_dir > 0 else 0
        spread = ba - bb
        total = 0.0
        for side in range(2):
            touch = bb if side == 0 else ba
            sgn = -1 if side == 0 else 1
            for d in range(N_NEAR):
                slot = touch + sgn * d
                q = depth[side, slot]
                c = count[side, slot]
                if d == 0:
                    ra = p[P_ADD_TOUCH] / (1.0 + q / p[P_ADD_QREF])
                    rc = p[P_CANCEL_TOUCH] * c
                    rm = p[P_MODIFY_TOUCH] * c
                else:
                    ra = add_near[d] / (1.0 + q / p[P_ADD_QREF])
                    rc = p[P_CANCEL_NEAR] * c
                    rm = p[P_MODIFY_NEAR] * c
                if side == approached and 1 <= (slot - pre_a) * sgn <= plant_lv:
                    # Planted vacuum: liquidity behind the touch leaves the side about to be swept
                    # (the touch itself is left alone, so the price does not run ahead of time).
                    rc *= p[P_VAC_CANCEL_MULT]
                    ra *= p[P_VAC_ADD_MULT]
                rates[side, 0, d] = ra * mult
                rates[side, 1, d] = rc * mult
                rates[side, 2, d] = rm * mult
                total += (ra + rc + rm) * mult
            rmk = p[P_MARKET] * mult + excite[side]
            rsf = p[P_SPREAD_FILL] * mult if spread > 1 else 0.0
            rda = p[P_DEEP_ADD] * mult
            rdc = p[P_DEEP_CANCEL] * max(alive_side[side] - count[side, touch], 0)
            # Planted pressure: the side behind the coming jump stacks up near its touch.
            rst = p[P_STACK_RATE] * stack_lv if approached >= 0 and side != approached else 0.0
            side_rates[side, 0] = rmk
            side_rates[side, 1] = rsf
            side_rates[side, 2] = rda
            side_rates[side, 3] = rdc
            side_rates[side, 4] = rst
            total += rmk + rsf + rda + rdc + rst

        # --- advance time (Gillespie); decay the Hawkes excitation.
        dt_s = _exp(1.0 / total)
        dt_ns = np.int64(dt_s * 1e9) + 1
        t += dt_ns
        if t >= dur_ns:
            break
        decay = np.exp(-dt_s / p[P_HAWKES_TAU])
        excite[0] *= decay
        excite[1] *= decay
        if phase == PHASE_IDLE and t >= quiet_until:
            hazard += regimes[regime, R_MOVE_RATE] * move_mult * dt_s
        if phase == PHASE_PRECURSOR and t >= phase_end:
            continue  # the jump comes first; intensities change with it

        # --- pick the component (linear scan; stops at the first hit).
        u = np.random.random() * total
        kind = 6  # rounding leftovers fall on the background cancels
        sel_side = 1
        sel_d = 0
        found = False
        for side in range(2):
            for k in range(3):
                for d in range(N_NEAR):
                    u -= rates[side, k, d]
                    if u < 0.0:
                        kind = k
                        sel_side = side
                        sel_d = d
                        found = True
                        break
                if found:
                    break
            if found:
                break
            for k in range(5):
                u -= side_rates[side, k]
                if u < 0.0:
                    kind = 3 + k
                    sel_side = side
                    found = True
                    break
            if found:
                break

        ts_event = np.int64(start_ns + t)
        lat = np.int64(p[P_RECV_LAT_NS] + _exp(p[P_RECV_JIT_NS]))
        recv = ts_event + lat
        if recv < last_recv:
            recv = last_recv  # ts_recv never goes back, as in a capture
        last_recv = recv
        delta = np.int32(12000 + np.random.randint(0, 6000))
        seq += np.uint32(1)
        side = sel_side
        sgn = -1 if side == 0 else 1
        side_ch = CH_BID if side == 0 else CH_ASK
        touch = bb if side == 0 else ba

        if n + 64 >= cap:
            return -1, 0, int(t)

        # The add and cancel/modify branches below are the per-event path and stay written out:
        # routing them through _rest/_put/_unlink/_append measured about 10% slower.
        if kind == 0 or kind == 4 or kind == 5 or kind == 7:
            # --- add: near level, inside the spread, a background level or planted stacking.
            if kind == 0:
                slot = touch + sgn * sel_d
            elif kind == 4:
                gap = ba - bb - 1
                if gap < 1:
                    continue
                step = 1 + np.random.randint(0, gap)
                slot = bb + step if side == 0 else ba - step
            elif kind == 7:
                slot = pre_t + sgn * np.random.randint(0, stack_lv)
                if (side == 0 and slot >= ba) or (side == 1 and slot <= bb):
                    continue  # never cross the book
            else:
                slot = touch + sgn * (1 + np.random.randint(0, n_deep - 1))
            if slot < 0 or slot >= N_SLOTS:
                continue
            qty = _draw(add_cdf, add_sizes)
            if kind == 7:
                qty *= int(p[P_STACK_SIZE])
            if n_free > 0:
                n_free -= 1
                k = free[n_free]
            else:
                k = hi
                hi += 1
                if hi >= pool:
                    return POOL_FULL, 0, int(t)
            q_oid[k] = next_oid
            next_oid += np.uint64(1)
            q_side[k] = side
            q_slot[k] = slot
            q_qty[k] = qty
            q_alive[k] = True
            q_stack[k] = kind == 7
            _append(k, side, slot, head, tail, q_prev, q_next)
            depth[side, slot] += qty
            count[side, slot] += 1
            alive_side[side] += 1
            if side == 0 and slot > bb:
                bb = slot
            if side == 1 and slot < ba:
                ba = slot
            n = _put(
                o_ts, o_recv, o_delta, o_oid, o_px, o_size, o_flags, o_action, o_side, o_seq,
                n, ts_event, recv, delta, q_oid[k], (start_tick + slot - half) * tick_int, qty,
                F_LAST, CH_ADD, side_ch, seq,
            )  # fmt: skip
            continue

        if kind == 1 or kind == 2 or kind == 6:
            # --- cancel or modify one resting order.
            if kind == 6:
                k = -1
                for _ in range(16):
                    j = np.random.randint(0, hi)
                    if q_alive[j] and q_side[j] == side:
                        dist = (bb - q_slot[j]) if side == 0 else (q_slot[j] - ba)
                        if dist >= 1:
                            k = j
                            break
                if k < 0:
                    continue
            else:
                slot = touch + sgn * sel_d
                c = count[side, slot]
                if c == 0:
                    continue
                k = head[side, slot]
                for _ in range(np.random.randint(0, c)):
                    k = q_next[k]
            slot = q_slot[k]
            old_qty = q_qty[k]
            new_slot = slot
            new_qty = old_qty
            if kind == 2:
                if np.random.random() < p[P_MODIFY_PRICE_FRAC] or old_qty == 1:
                    # Re-price by 1-3 ticks, mostly away from the touch; never cross.
                    step = 1 + np.random.randint(0, 3)
                    if np.random.random() < 0.4:
                        step = -step
                    new_slot = slot + sgn * step
                    if side == 0 and new_slot >= ba:
                        new_slot = ba - 1
                    if side == 1 and new_slot <= bb:
                        new_slot = bb + 1
                    if new_slot < 0 or new_slot >= N_SLOTS or new_slot == slot:
                        continue
                else:
                    new_qty = 1 + np.random.randint(0, old_qty - 1)
            # Unlink (a cancel, a re-price, or nothing for a size decrease, which keeps priority).
            if kind != 2 or new_slot != slot:
                if q_prev[k] >= 0:
                    q_next[q_prev[k]] = q_next[k]
                else:
                    head[side, slot] = q_next[k]
                if q_next[k] >= 0:
                    q_prev[q_next[k]] = q_prev[k]
                else:
                    tail[side, slot] = q_prev[k]
                depth[side, slot] -= old_qty
                count[side, slot] -= 1
            if kind == 2 and new_slot != slot:
                q_slot[k] = new_slot
                q_next[k] = -1
                q_prev[k] = tail[side, new_slot]
                if tail[side, new_slot] >= 0:
                    q_next[tail[side, new_slot]] = k
                else:
                    head[side, new_slot] = k
                tail[side, new_slot] = k
                depth[side, new_slot] += new_qty
                count[side, new_slot] += 1
            elif kind == 2:
                depth[side, slot] -= old_qty - new_qty
                q_qty[k] = new_qty
            if kind != 2:
                q_alive[k] = False
                free[n_free] = k
                n_free += 1
                alive_side[side] -= 1
            # Keep the touch current: improve on a better re-price, scan away when emptied.
            if side == 0:
                if new_slot > bb:
                    bb = new_slot
                while depth[0, bb] == 0 and bb > 0:
                    bb -= 1
            else:
                if new_slot < ba:
                    ba = new_slot
                while depth[1, ba] == 0 and ba < N_SLOTS - 1:
                    ba += 1
            o_ts[n] = ts_event
            o_recv[n] = recv
            o_delta[n] = delta
            o_oid[n] = q_oid[k]
            o_px[n] = (start_tick + new_slot - half) * tick_int
            o_size[n] = old_qty if kind != 2 else new_qty
            o_flags[n] = F_LAST
            o_action[n] = CH_CANCEL if kind != 2 else CH_MODIFY
            o_side[n] = side_ch
            o_seq[n] = seq
            n += 1
            continue

        # --- market order hitting the touch of `side`: T, F per resting order, then C/M.
        avail = depth[side, touch]
        if avail <= 0:
            continue
        if n + 2 * count[side, touch] + 4 >= cap:
            return -1, 0, int(t)
        qty = min(_draw(trade_cdf, trade_sizes), avail)
        excite[side] += p[P_HAWKES_JUMP]
        px = (start_tick + touch - half) * tick_int
        n, n_free, seq = _trade(
            o_ts, o_recv, o_delta, o_oid, o_px, o_size, o_flags, o_action, o_side, o_seq, n,
            side, touch, qty, ts_event, recv, delta, seq, next_oid, px, depth, count, head, tail,
            q_oid, q_qty, q_next, q_prev, q_alive, free, n_free, alive_side,
        )  # fmt: skip
        next_oid += np.uint64(1)
        if side == 0:
            while depth[0, bb] == 0 and bb > 0:
                bb -= 1
        else:
            while depth[1, ba] == 0 and ba < N_SLOTS - 1:
                ba += 1

    return n, n_moves, int(t)
