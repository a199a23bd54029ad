"""Per-tick mechanics of the AbsoluteTickEngine (SPEC 5, SPEC 11 items 6, 7, 12).

Expected values are computed here from the SPEC formulas with ``math.exp``; nothing below calls
the engine's own helpers to produce an expectation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from eventgen import ES_TICK, NS, T0, build_stream, ev, events, random_ops, run_all
from vacuum_pressure.engine import FIELD_NAMES, AbsoluteTickEngine
from vacuum_pressure.engine import kernels as K
from vacuum_pressure.events import (
    ACTION_ADD,
    ACTION_CANCEL,
    ACTION_FILL,
    ACTION_MODIFY,
    ACTION_TRADE,
    SIDE_ASK,
    SIDE_BID,
)

TAU_V, TAU_A, TAU_J, TAU_REST = 2.0, 5.0, 10.0, 30.0
ANCHOR = 20_000  # absolute tick of slot n//2
N = 64
P = ANCHOR * ES_TICK  # price of slot 32
IDX = N // 2


def alpha(dt: float, tau: float) -> float:
    """SPEC 5: 1 - exp(-dt/tau); 0 for dt <= 0; 1 when dt/tau > 50."""
    if dt <= 0:
        return 0.0
    if dt / tau > 50:
        return 1.0
    return 1.0 - math.exp(-dt / tau)


def chain(rate: float, dt: float, v: float, a: float, j: float) -> tuple[float, float, float]:
    """SPEC 5 derivative chain for one input rate at step dt (s)."""
    av, aa, aj = alpha(dt, TAU_V), alpha(dt, TAU_A), alpha(dt, TAU_J)
    v2 = av * rate + (1 - av) * v
    a2 = aa * (v2 - v) / dt + (1 - aa) * a
    j2 = aj * (a2 - a) / dt + (1 - aj) * j
    return v2, a2, j2


def pressure(f: dict[str, float]) -> float:
    return 1.0 * f["v_add"] + 0.5 * max(f["v_rest_depth"], 0.0) + 0.3 * max(f["a_add"], 0.0)


def vacuum(f: dict[str, float]) -> float:
    return (
        1.0 * f["v_pull"]
        + 1.5 * f["v_fill"]
        + 0.5 * max(-f["v_rest_depth"], 0.0)
        + 0.3 * max(f["a_pull"], 0.0)
    )


def engine(**kw: object) -> AbsoluteTickEngine:
    return AbsoluteTickEngine(N, ES_TICK, anchor_tick_idx=ANCHOR, **kw)  # type: ignore[arg-type]


def cell(eng: AbsoluteTickEngine, idx: int = IDX) -> dict[str, float]:
    return {name: float(eng.field(name)[idx]) for name in FIELD_NAMES}


def approx(x: float) -> object:
    return pytest.approx(x, rel=1e-12, abs=1e-12)


def assert_cell(eng: AbsoluteTickEngine, expected: dict[str, float], idx: int = IDX) -> None:
    got = cell(eng, idx)
    for name, value in expected.items():
        assert got[name] == approx(value), name


# ---------------------------------------------------------------------------------------------
# EMA factor
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("dt", "tau", "expected"),
    [
        (0.0, 2.0, 0.0),
        (-1.0, 2.0, 0.0),
        (0.5, 2.0, 1.0 - math.exp(-0.25)),
        (2.0, 2.0, 1.0 - math.exp(-1.0)),
        (100.0, 2.0, 1.0 - math.exp(-50.0)),  # ratio exactly 50: still the formula
        (100.2, 2.0, 1.0),  # ratio > 50: exactly 1
        (30.0, 10.0, 1.0 - math.exp(-3.0)),
    ],
)
def test_ema_alpha(dt: float, tau: float, expected: float) -> None:
    assert K.ema_alpha(dt, tau) == expected


def test_alpha_is_one_beyond_fifty_time_constants_through_the_engine() -> None:
    # dt = 600 s > 50 * tau_j: every alpha is exactly 1, so v = rate, a = dv/dt, j = da/dt.
    eng = engine()
    run_all(eng, events([ev(T0, ACTION_ADD, SIDE_BID, P, 10, 1)]))
    run_all(eng, events([ev(T0 + 600 * NS, ACTION_ADD, SIDE_BID, P, 6, 2)]))
    rate = 6 / 600.0
    assert cell(eng)["v_add"] == rate
    assert cell(eng)["a_add"] == rate / 600.0
    assert cell(eng)["j_add"] == rate / 600.0 / 600.0
    assert cell(eng)["v_rest_depth"] == rate  # rest 10 -> 16 over 600 s
    assert cell(eng)["add_mass"] == approx(10 * math.exp(-20.0) + 6)


# ---------------------------------------------------------------------------------------------
# Derivative chains through the engine
# ---------------------------------------------------------------------------------------------
def test_derivative_chains_by_delta_and_by_value() -> None:
    """add/pull/fill chains take delta/dt; rest_depth takes (new - prev)/dt."""
    t1, t2, t3 = T0, T0 + NS // 2, T0 + NS // 2 + 1_250_000_000
    eng = engine()
    # t1: first touch (dt = 0): masses accumulate, the chain does not move.
    run_all(eng, events([ev(t1, ACTION_ADD, SIDE_BID, P, 10, 1)]))
    exp = dict.fromkeys(FIELD_NAMES, 0.0)
    exp["add_mass"] = 10.0
    exp["rest_depth"] = 10.0
    assert_cell(eng, exp)

    # t2 = t1 + 0.5 s: add 4 more.
    run_all(eng, events([ev(t2, ACTION_ADD, SIDE_BID, P, 4, 2)]))
    dt = 0.5
    exp["add_mass"] = 10.0 * math.exp(-dt / TAU_REST) + 4
    exp["rest_depth"] = 14.0
    exp["v_add"], exp["a_add"], exp["j_add"] = chain(4 / dt, dt, 0, 0, 0)
    exp["v_rest_depth"], exp["a_rest_depth"], exp["j_rest_depth"] = chain(
        (14 - 10) / dt, dt, 0, 0, 0
    )
    exp["pressure_variant"] = pressure(exp)
    exp["vacuum_variant"] = vacuum(exp)
    assert_cell(eng, exp)
    # Spot values (first chain step from rest): v = alpha_v * rate.
    assert exp["v_add"] == approx((1 - math.exp(-0.25)) * 8)
    assert exp["vacuum_variant"] == 0.0

    # t3 = t2 + 1.25 s: cancel order 1 (10 lots) -> pull 10, rest 14 -> 4.
    run_all(eng, events([ev(t3, ACTION_CANCEL, SIDE_BID, P, 10, 1)]))
    dt = 1.25
    decay = math.exp(-dt / TAU_REST)
    exp["add_mass"] = exp["add_mass"] * decay
    exp["pull_mass"] = 10.0
    exp["rest_depth"] = 4.0
    exp["v_add"], exp["a_add"], exp["j_add"] = chain(
        0.0, dt, exp["v_add"], exp["a_add"], exp["j_add"]
    )
    exp["v_pull"], exp["a_pull"], exp["j_pull"] = chain(10 / dt, dt, 0, 0, 0)
    exp["v_rest_depth"], exp["a_rest_depth"], exp["j_rest_depth"] = chain(
        (4 - 14) / dt, dt, exp["v_rest_depth"], exp["a_rest_depth"], exp["j_rest_depth"]
    )
    exp["pressure_variant"] = pressure(exp)
    exp["vacuum_variant"] = vacuum(exp)
    assert_cell(eng, exp)
    assert exp["vacuum_variant"] > 0
    assert eng.TE[IDX] == 3
    assert eng.TT[IDX] == t3


def test_fill_chain_uses_the_fill_size_over_dt() -> None:
    eng = engine()
    run_all(eng, events([ev(T0, ACTION_ADD, SIDE_ASK, P, 20, 7)]))
    t = T0 + 2 * NS
    run_all(
        eng,
        events(
            [
                ev(t, ACTION_TRADE, SIDE_BID, P, 5, 0, 0),
                ev(t, ACTION_FILL, SIDE_ASK, P, 5, 7, 0),
                ev(t, ACTION_MODIFY, SIDE_ASK, P, 15, 7),
            ]
        ),
    )
    v, a, j = chain(5 / 2.0, 2.0, 0, 0, 0)
    got = cell(eng)
    assert got["fill_mass"] == 5.0
    assert (got["v_fill"], got["a_fill"], got["j_fill"]) == (approx(v), approx(a), approx(j))
    # The M at the same timestamp (dt = 0) left the chain where the F put it.
    assert got["pull_mass"] == 0.0
    assert got["add_mass"] == approx(20 * math.exp(-2 / 30))
    assert got["vacuum_variant"] == approx(1.5 * v + 0.5 * max(-got["v_rest_depth"], 0))
    assert got["rest_depth"] == 15.0


# ---------------------------------------------------------------------------------------------
# Composite (SPEC 6.1) on engine outputs
# ---------------------------------------------------------------------------------------------
def composite(p: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (p - v) / (np.abs(p) + np.abs(v) + 1e-12)


def test_composite_is_bounded_and_zero_without_forces() -> None:
    eng = engine()
    run_all(eng, build_stream(random_ops(np.random.default_rng(3), 400), base_tick=ANCHOR))
    p, v = eng.field("pressure_variant"), eng.field("vacuum_variant")
    c = composite(p, v)
    assert np.all(np.abs(c) <= 1.0)
    both_zero = (p == 0) & (v == 0)
    assert both_zero.any() and (~both_zero).any()
    assert np.all(c[both_zero] == 0.0)
    pressure_only = (p > 0) & (v == 0)
    assert pressure_only.any()
    assert np.all(c[pressure_only] > 0)


# ---------------------------------------------------------------------------------------------
# Same timestamp, adds vs cancels
# ---------------------------------------------------------------------------------------------
def test_same_timestamp_events_never_move_the_chain() -> None:
    eng = engine()
    recs = [
        ev(T0, ACTION_ADD, SIDE_BID, P, 10, 1),
        ev(T0, ACTION_ADD, SIDE_BID, P, 5, 2),
        ev(T0, ACTION_CANCEL, SIDE_BID, P, 10, 1),
        ev(T0, ACTION_MODIFY, SIDE_BID, P, 9, 2),
    ]
    run_all(eng, events(recs))
    got = cell(eng)
    assert got["add_mass"] == 10 + 5 + 4
    assert got["pull_mass"] == 10.0
    assert got["rest_depth"] == 9.0
    for name in FIELD_NAMES[4:]:
        assert got[name] == 0.0, name
    assert eng.TE[IDX] == 4


def test_adds_give_pressure_only() -> None:
    eng = engine()
    recs = [ev(T0 + i * NS // 10, ACTION_ADD, SIDE_BID, P, 3, i + 1) for i in range(5)]
    run_all(eng, events(recs))
    got = cell(eng)
    assert got["pressure_variant"] > 0
    assert got["vacuum_variant"] == 0.0
    assert got["pull_mass"] == got["fill_mass"] == 0.0


def test_cancel_pull_mass_is_the_remaining_quantity_not_the_record_size() -> None:
    eng = engine()
    t = T0 + NS
    recs = [
        ev(T0, ACTION_ADD, SIDE_BID, P, 10, 1),
        ev(t, ACTION_TRADE, SIDE_ASK, P, 3, 0, 0),
        ev(t, ACTION_FILL, SIDE_BID, P, 3, 1, 0),  # remaining 7
        ev(t + NS, ACTION_CANCEL, SIDE_BID, P, 999, 1),
    ]
    run_all(eng, events(recs))
    got = cell(eng)
    assert got["pull_mass"] == 7.0
    assert got["fill_mass"] == approx(3 * math.exp(-1 / 30))
    v_pull, _, _ = chain(7 / 1.0, 1.0, 0, 0, 0)
    assert got["v_pull"] == approx(v_pull)
    assert got["vacuum_variant"] > 0
    assert eng.depth_bid[IDX] == 0
    assert eng.orders() == {}


# ---------------------------------------------------------------------------------------------
# Passive time advance
# ---------------------------------------------------------------------------------------------
def test_mass_decays_by_e_after_tau_rest_decay() -> None:
    eng = engine()
    run_all(eng, events([ev(T0, ACTION_ADD, SIDE_BID, P, 10, 1)]))
    eng.advance_time(T0 + 30 * NS)
    assert eng.field("add_mass")[IDX] == approx(10 * math.exp(-1.0))
    assert eng.field("rest_depth")[IDX] == 10.0  # depth is not decayed


def test_passive_advance_decays_active_ticks_only_and_keeps_event_ids() -> None:
    eng = engine()
    t1, t2 = T0, T0 + NS
    run_all(
        eng,
        events(
            [
                ev(t1, ACTION_ADD, SIDE_BID, P, 10, 1),
                ev(t2, ACTION_ADD, SIDE_BID, P, 4, 2),
                ev(t2, ACTION_ADD, SIDE_ASK, P + 3 * ES_TICK, 8, 3),
            ]
        ),
    )
    before = cell(eng)
    te = eng.TE.copy()
    ask_idx = IDX + 3
    untouched = eng.F[:, IDX + 10].copy()
    bin_end = t2 + 1_500_000_000
    eng.advance_time(bin_end)
    dt = 1.5
    exp = dict(before)
    for name in ("add_mass", "pull_mass", "fill_mass"):
        exp[name] = before[name] * math.exp(-dt / TAU_REST)
    for ch in ("add", "pull", "fill", "rest_depth"):
        v0, a0, j0 = before[f"v_{ch}"], before[f"a_{ch}"], before[f"j_{ch}"]
        v1 = (1 - alpha(dt, TAU_V)) * v0
        a1 = alpha(dt, TAU_A) * (v1 - v0) / dt + (1 - alpha(dt, TAU_A)) * a0
        j1 = alpha(dt, TAU_J) * (a1 - a0) / dt + (1 - alpha(dt, TAU_J)) * j0
        exp[f"v_{ch}"], exp[f"a_{ch}"], exp[f"j_{ch}"] = v1, a1, j1
    exp["pressure_variant"] = pressure(exp)
    exp["vacuum_variant"] = vacuum(exp)
    assert before["v_add"] != 0.0
    assert_cell(eng, exp)
    # The ask tick was first touched at t2 (v = 0): only its mass decays.
    assert eng.field("add_mass")[ask_idx] == approx(8 * math.exp(-dt / TAU_REST))
    assert eng.TT[IDX] == bin_end and eng.TT[ask_idx] == bin_end
    np.testing.assert_array_equal(eng.TE, te)
    np.testing.assert_array_equal(eng.F[:, IDX + 10], untouched)
    assert eng.TT[IDX + 10] == 0
    # A second advance to the same time changes nothing (ts must be > the tick's ts).
    snapshot = eng.F.copy()
    eng.advance_time(bin_end)
    np.testing.assert_array_equal(eng.F, snapshot)


# ---------------------------------------------------------------------------------------------
# Fills
# ---------------------------------------------------------------------------------------------
def test_partial_fill_reduces_depth_and_counts_fill_mass() -> None:
    eng = engine()
    run_all(eng, events([ev(T0, ACTION_ADD, SIDE_BID, P, 10, 1)]))
    run_all(eng, events([ev(T0 + NS, ACTION_FILL, SIDE_BID, P, 4, 1, 0)]))
    assert eng.depth_bid[IDX] == 6
    assert eng.orders() == {1: (SIDE_BID, P, 6)}
    assert eng.field("fill_mass")[IDX] == 4.0
    assert eng.field("rest_depth")[IDX] == 6.0


def test_oversized_fill_adds_full_size_as_mass_and_removes_the_order() -> None:
    eng = engine()
    run_all(eng, events([ev(T0, ACTION_ADD, SIDE_ASK, P, 10, 1)]))
    run_all(eng, events([ev(T0 + NS, ACTION_FILL, SIDE_ASK, P, 25, 1, 0)]))
    assert eng.depth_ask[IDX] == 0  # falls by min(25, 10)
    assert eng.orders() == {}
    assert eng.field("fill_mass")[IDX] == 25.0
    v, _, _ = chain(25.0, 1.0, 0, 0, 0)
    assert eng.field("v_fill")[IDX] == approx(v)
    # The exchange's following C finds no order: no pull mass, counted as unknown.
    run_all(eng, events([ev(T0 + NS, ACTION_CANCEL, SIDE_ASK, P, 10, 1)]))
    assert eng.field("pull_mass")[IDX] == 0.0
    assert eng.unknown_order_count == 1


# ---------------------------------------------------------------------------------------------
# Modify
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("new_size", "add", "pull"), [(15, 5.0, 0.0), (4, 0.0, 6.0), (10, 0, 0)])
def test_modify_at_the_same_price_adds_or_pulls_the_difference(
    new_size: int, add: float, pull: float
) -> None:
    eng = engine()
    run_all(eng, events([ev(T0, ACTION_ADD, SIDE_BID, P, 10, 1)]))
    run_all(eng, events([ev(T0 + NS, ACTION_MODIFY, SIDE_BID, P, new_size, 1)]))
    decay = math.exp(-1 / 30)
    assert eng.field("add_mass")[IDX] == approx(10 * decay + add)
    assert eng.field("pull_mass")[IDX] == pull
    assert eng.depth_bid[IDX] == new_size
    assert eng.field("rest_depth")[IDX] == new_size
    assert eng.TE[IDX] == 2  # touched even when nothing changed


def test_modify_to_a_new_price_pulls_old_and_adds_new_with_one_event_id() -> None:
    eng = engine()
    p2 = P + 2 * ES_TICK
    run_all(eng, events([ev(T0, ACTION_ADD, SIDE_BID, P, 10, 1)]))
    run_all(eng, events([ev(T0 + NS, ACTION_MODIFY, SIDE_BID, p2, 7, 1)]))
    old, new = IDX, IDX + 2
    assert eng.field("pull_mass")[old] == 10.0
    assert eng.field("add_mass")[old] == approx(10 * math.exp(-1 / 30))
    assert eng.field("add_mass")[new] == 7.0
    assert eng.field("pull_mass")[new] == 0.0
    assert (eng.depth_bid[old], eng.depth_bid[new]) == (0, 7)
    assert eng.field("rest_depth")[old] == 0.0 and eng.field("rest_depth")[new] == 7.0
    assert eng.TE[old] == eng.TE[new] == 2
    assert eng.TT[old] == eng.TT[new] == T0 + NS
    assert eng.top().best_bid_price_int == p2


def test_modify_of_unknown_order_inserts_it_but_touches_no_tick() -> None:
    eng = engine()
    run_all(eng, events([ev(T0, ACTION_MODIFY, SIDE_ASK, P, 9, 42)]))
    assert eng.depth_ask[IDX] == 9
    assert eng.orders() == {42: (SIDE_ASK, P, 9)}
    assert eng.unknown_order_count == 1
    assert eng.event_count == 1
    assert not eng.F.any()
    assert not eng.TE.any() and not eng.TT.any()


def test_modify_of_unknown_order_is_an_add_with_the_fix() -> None:
    eng = engine(fix_reference_defects=True)
    run_all(eng, events([ev(T0, ACTION_MODIFY, SIDE_ASK, P, 9, 42)]))
    assert eng.depth_ask[IDX] == 9
    assert eng.field("add_mass")[IDX] == 9.0
    assert eng.field("rest_depth")[IDX] == 9.0
    assert eng.TE[IDX] == 1 and eng.TT[IDX] == T0


# ---------------------------------------------------------------------------------------------
# Robustness
# ---------------------------------------------------------------------------------------------
def test_no_nan_or_inf_after_a_long_random_stream() -> None:
    eng = engine()
    stream = build_stream(random_ops(np.random.default_rng(11), 20_000), base_tick=ANCHOR)
    ts = stream["ts"]
    for k, chunk in enumerate(np.array_split(np.arange(stream.size), 40)):
        run_all(eng, stream, int(chunk[0]), int(chunk[-1]) + 1)
        eng.advance_time(int(ts[chunk[-1]]) + (k % 3) * 7 * NS)
        assert np.isfinite(eng.F).all()
    assert (eng.D >= 0).all()
    assert eng.event_count == stream.size
    assert eng.F[K.ADD_MASS].max() > 0 and eng.F[K.VACUUM].max() > 0


def _advance_by_hand(f: dict[str, float], dt: float) -> dict[str, float]:
    """SPEC 5 passive advance of one tick's fields over dt seconds (zero input)."""
    out = dict(f)
    for name in ("add_mass", "pull_mass", "fill_mass"):
        out[name] = f[name] * math.exp(-dt / TAU_REST)
    for ch in ("add", "pull", "fill", "rest_depth"):
        v0, a0, j0 = f[f"v_{ch}"], f[f"a_{ch}"], f[f"j_{ch}"]
        v1 = (1 - alpha(dt, TAU_V)) * v0
        a1 = alpha(dt, TAU_A) * (v1 - v0) / dt + (1 - alpha(dt, TAU_A)) * a0
        j1 = alpha(dt, TAU_J) * (a1 - a0) / dt + (1 - alpha(dt, TAU_J)) * j0
        out[f"v_{ch}"], out[f"a_{ch}"], out[f"j_{ch}"] = v1, a1, j1
    out["pressure_variant"] = pressure(out)
    out["vacuum_variant"] = vacuum(out)
    return out


def test_passive_advance_of_ticks_one_bin_old_and_others_in_the_same_step() -> None:
    """Ticks advanced exactly one bin width ago (shared factors) and ticks with another dt."""
    width = 100_000_000
    eng = engine()
    eng.set_bin_width(width)
    t1, t2 = T0, T0 + 300_000_000
    other = IDX + 4
    run_all(
        eng,
        events(
            [
                ev(t1, ACTION_ADD, SIDE_BID, P, 10, 1),
                ev(t2, ACTION_CANCEL, SIDE_BID, P, 10, 1),
                ev(t1, ACTION_ADD, SIDE_ASK, P + 4 * ES_TICK, 3, 2),
                ev(t2, ACTION_ADD, SIDE_ASK, P + 4 * ES_TICK, 2, 3),
            ]
        ),
    )
    end1 = t2 + 70_000_000
    eng.advance_time(end1)
    main_before, other_before = cell(eng, IDX), cell(eng, other)
    # One more event on `other` makes its dt at the next bin end differ from the bin width.
    run_all(eng, events([ev(end1 + 30_000_000, ACTION_ADD, SIDE_ASK, P + 4 * ES_TICK, 1, 4)]))
    other_touched = cell(eng, other)
    end2 = end1 + width
    eng.advance_time(end2)
    exp = _advance_by_hand(main_before, 0.1)
    assert_cell(eng, exp)
    assert_cell(eng, _advance_by_hand(other_touched, 0.07), other)
    assert other_before != other_touched
    assert eng.TT[IDX] == eng.TT[other] == end2
