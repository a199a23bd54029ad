"""The 4-lane vector form of the passive advance's v/a/j chains must give the scalar
operations' bits exactly: finite values over the whole exponent range, subnormals, signed zeros,
infinities and NaN, for several dt and step counts."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from vacuum_pressure.engine import kernels as K
from vacuum_pressure.engine.simd import chain4_steps, chain4_touch


@numba.njit(cache=False)
def _vector(states: np.ndarray, steps: int, factors: np.ndarray, out: np.ndarray) -> None:
    d, aa, aj, kv, ka, kj = factors
    for t in range(states.shape[0]):
        s = states[t]
        r = chain4_steps(
            (s[0, 0], s[1, 0], s[2, 0], s[3, 0]),
            (s[0, 1], s[1, 1], s[2, 1], s[3, 1]),
            (s[0, 2], s[1, 2], s[2, 2], s[3, 2]),
            (0.0, 0.0, 0.0, 0.0),
            steps, d, aa, aj, kv, ka, kj, 0.5,
        )  # fmt: skip
        for c in range(4):
            out[t, c, 0] = r[c]
            out[t, c, 1] = r[4 + c]
            out[t, c, 2] = r[8 + c]


def _scalar(v: float, a: float, j: float, steps: int, factors: np.ndarray) -> list[float]:
    """SPEC 11.5, one chain, in plain Python floats (IEEE double, no fused operations)."""
    d, aa, aj, kv, ka, kj = (float(x) for x in factors)
    v, a, j = float(v), float(a), float(j)
    for _ in range(steps):
        v1 = kv * v
        a1 = aa * ((v1 - v) / d) + ka * a
        j1 = aj * ((a1 - a) / d) + kj * j
        v, a, j = (x if math.isfinite(x) else 0.0 for x in (v1, a1, j1))
    return [v, a, j]


def _factors(dt: float) -> np.ndarray:
    x = np.array([dt])
    alpha_v, alpha_a, alpha_j = (1.0 - np.exp(-x / tau) for tau in (2.0, 5.0, 10.0))
    return np.array(
        [dt, alpha_a[0], alpha_j[0], 1.0 - alpha_v[0], 1.0 - alpha_a[0], 1.0 - alpha_j[0]]
    )


@pytest.mark.parametrize("dt", [0.1, 0.037, 1e-9, 912.5])
@pytest.mark.parametrize("steps", [0, 1, 3, 40])
def test_vector_chains_equal_the_scalar_steps_bit_for_bit(dt: float, steps: int) -> None:
    rng = np.random.default_rng(int(dt * 1e9) % 1000 + steps)
    n = 600
    states = rng.standard_normal((n, 4, 3)) * 10.0 ** rng.integers(-320, 300, (n, 4, 3))
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1e308, -1e308])
    mask = rng.random((n, 4, 3)) < 0.1
    states[mask] = rng.choice(specials, int(mask.sum()))
    factors = _factors(dt)
    out = np.zeros_like(states)
    _vector(states, steps, factors, out)
    expected = np.array(
        [[_scalar(*states[t, c], steps, factors) for c in range(4)] for t in range(n)]
    )
    assert np.array_equal(out.view(np.int64), expected.view(np.int64))


@numba.njit(cache=False)
def _advance_all(F: np.ndarray, steps: int, u: np.ndarray) -> None:
    for i in range(F.shape[1]):
        K._advance_tick_steps(F, i, steps, u[0], u[1], u[2], u[3], u[4], u[5], u[6])


def _advance_reference(col: np.ndarray, steps: int, u: np.ndarray) -> np.ndarray:
    """SPEC 5/11.5 passive advance of one tick, ``steps`` times, in plain Python floats."""
    x = [float(v) for v in col]
    d, rest, aa, aj, kv, ka, kj = (float(f) for f in u)
    for _ in range(steps):
        for row in (K.ADD_MASS, K.PULL_MASS, K.FILL_MASS):
            x[row] *= rest
        for row in range(K.V_ADD, K.V_REST + 1):
            x[row], x[row + 4], x[row + 8] = _scalar(
                x[row], x[row + 4], x[row + 8], 1, np.array([d, aa, aj, kv, ka, kj])
            )
        pressure = x[K.V_ADD] + 0.5 * max(x[K.V_REST], 0.0) + 0.3 * max(x[K.A_ADD], 0.0)
        vacuum = (
            x[K.V_PULL]
            + 1.5 * x[K.V_FILL]
            + 0.5 * max(-x[K.V_REST], 0.0)
            + 0.3 * max(x[K.A_PULL], 0.0)
        )
        x[K.PRESSURE] = pressure if math.isfinite(pressure) else 0.0
        x[K.VACUUM] = vacuum if math.isfinite(vacuum) else 0.0
    return np.array(x)


@pytest.mark.parametrize("steps", [1, 2, 25])
def test_tick_advance_equals_the_spec_steps_including_overflowing_ticks(steps: int) -> None:
    """``_advance_tick_steps`` runs the chains unsanitised and falls back when a value turns
    non-finite; either way the result must be the per-step sanitised one."""
    rng = np.random.default_rng(steps)
    n = 400
    F = rng.standard_normal((K.N_FIELDS, n)) * 10.0 ** rng.integers(-30, 30, (K.N_FIELDS, n))
    with np.errstate(over="ignore"):
        F[:, :40] *= 1e280  # some start infinite, others overflow within a few steps
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324])
    mask = rng.random((K.N_FIELDS, n)) < 0.03
    F[mask] = rng.choice(specials, int(mask.sum()))
    F[K.V_ADD : K.J_REST + 1, 40:60] = rng.choice([0.0, -0.0], size=(12, 20))  # settled
    dt = 0.1
    alpha_v, alpha_a, alpha_j = (1.0 - np.exp(-np.array([dt]) / tau)[0] for tau in (2, 5, 10))
    rest = np.exp(-np.array([dt]) / 30.0)[0]
    u = np.array([dt, rest, alpha_a, alpha_j, 1.0 - alpha_v, 1.0 - alpha_a, 1.0 - alpha_j])
    expected = np.stack([_advance_reference(F[:, i], steps, u) for i in range(n)], axis=1)
    _advance_all(F, steps, u)
    assert np.array_equal(F.view(np.int64), expected.view(np.int64))


@numba.njit(cache=False)
def _touch_vector(states: np.ndarray, deltas: np.ndarray, f: np.ndarray, out: np.ndarray) -> None:
    dt, av, aa, aj = f
    for t in range(states.shape[0]):
        s = states[t]
        d = deltas[t]
        r = chain4_touch(
            (s[0, 0], s[1, 0], s[2, 0], s[3, 0]),
            (s[0, 1], s[1, 1], s[2, 1], s[3, 1]),
            (s[0, 2], s[1, 2], s[2, 2], s[3, 2]),
            (d[0], d[1], d[2], d[3]),
            dt, av, aa, aj,
        )  # fmt: skip
        for c in range(4):
            out[t, c, 0] = r[c]
            out[t, c, 1] = r[4 + c]
            out[t, c, 2] = r[8 + c]


def _touch_scalar(v: float, a: float, j: float, delta: float, f: np.ndarray) -> list[float]:
    """SPEC 5's event step of one chain in plain Python floats (IEEE double, no fused
    operations): rate = delta / dt; a non-finite v', a' or j' keeps the old values."""
    dt, av, aa, aj = (float(x) for x in f)
    v, a, j = float(v), float(a), float(j)
    rate = float(delta) / dt
    v2 = av * rate + (1.0 - av) * v
    a2 = aa * ((v2 - v) / dt) + (1.0 - aa) * a
    j2 = aj * ((a2 - a) / dt) + (1.0 - aj) * j
    if not (math.isfinite(v2) and math.isfinite(a2) and math.isfinite(j2)):
        return [v, a, j]
    return [v2, a2, j2]


@pytest.mark.parametrize("dt", [0.1, 0.037, 1e-9, 912.5])
def test_vector_touch_equals_the_scalar_event_step_bit_for_bit(dt: float) -> None:
    rng = np.random.default_rng(int(dt * 1e9) % 1000)
    n = 2_000
    states = rng.standard_normal((n, 4, 3)) * 10.0 ** rng.integers(-320, 300, (n, 4, 3))
    deltas = rng.integers(-50, 500, (n, 4)).astype(np.float64)
    deltas[::7] *= 10.0 ** rng.integers(-300, 300, (deltas[::7].shape[0], 4))
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1e308, -1e308])
    mask = rng.random((n, 4, 3)) < 0.1
    states[mask] = rng.choice(specials, int(mask.sum()))
    f = np.array([dt, *(K.ema_alpha(dt, tau) for tau in (K.TAU_V, K.TAU_A, K.TAU_J))])
    out = np.zeros_like(states)
    with np.errstate(all="ignore"):
        _touch_vector(states, deltas, f, out)
    expected = np.array(
        [[_touch_scalar(*states[t, c], deltas[t, c], f) for c in range(4)] for t in range(n)]
    )
    assert np.array_equal(out.view(np.int64), expected.view(np.int64))
    # Some lanes kept their old values, others moved: both branches are covered.
    kept = (out.view(np.int64) == states.view(np.int64)).all(axis=2)
    assert kept.any() and (~kept).any()
