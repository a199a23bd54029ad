"""The passive advance's shortcut for settled ticks (every v/a/j exactly zero) must give the
same bits, signed zeros included, as the full zero-input step of SPEC 5."""

from __future__ import annotations

import math
import struct

import numpy as np

from vacuum_pressure.engine import kernels as K


def _bits(x: float) -> int:
    return struct.unpack("<q", struct.pack("<d", x))[0]


def _full_step(
    v0: float, a0: float, j0: float, d: float, alpha_a: float, alpha_j: float, keep_v: float,
    keep_a: float, keep_j: float,
) -> tuple[float, float, float]:  # fmt: skip
    v1 = keep_v * v0
    a1 = alpha_a * ((v1 - v0) / d) + keep_a * a0
    j1 = alpha_j * ((a1 - a0) / d) + keep_j * j0
    return tuple(x if math.isfinite(x) else 0.0 for x in (v1, a1, j1))  # type: ignore[return-value]


def test_settled_shortcut_matches_full_step_bit_for_bit() -> None:
    rng = np.random.default_rng(11)
    n = 256
    F = np.zeros((K.N_FIELDS, n))
    F[K.V_ADD : K.J_REST + 1] = rng.choice([0.0, -0.0], size=(12, n))
    F[K.ADD_MASS : K.FILL_MASS + 1] = rng.random((3, n))
    F[K.PRESSURE], F[K.VACUUM] = -0.0, -0.0  # stale values the step must overwrite
    before = F.copy()
    dt = 0.1
    alpha_v = 1.0 - np.exp(-dt / K.TAU_V)
    alpha_a = 1.0 - np.exp(-dt / K.TAU_A)
    alpha_j = 1.0 - np.exp(-dt / K.TAU_J)
    rest = np.exp(-dt / K.TAU_REST_DECAY)
    u = np.array([dt, rest, alpha_a, alpha_j, 1.0 - alpha_v, 1.0 - alpha_a, 1.0 - alpha_j])
    empty = np.zeros(0)
    K.passive_advance(
        F, np.ones(n, dtype=np.int64), 5, np.arange(n), u, np.zeros(0, dtype=np.int64),
        empty, empty, empty, empty, empty, empty, empty,
    )  # fmt: skip
    for i in range(n):
        for row in range(K.V_ADD, K.V_REST + 1):
            want = _full_step(
                before[row, i], before[row + 4, i], before[row + 8, i], *u[[0, 2, 3, 4, 5, 6]]
            )
            got = (F[row, i], F[row + 4, i], F[row + 8, i])
            assert [_bits(x) for x in got] == [_bits(x) for x in want], (i, row)
        v_add, v_rest, a_add = before[K.V_ADD, i], before[K.V_REST, i], 0.0
        pressure = 1.0 * v_add + 0.5 * max(v_rest, 0.0) + 0.3 * max(a_add, 0.0)
        assert _bits(F[K.PRESSURE, i]) == _bits(pressure)
        assert F[K.ADD_MASS, i] == before[K.ADD_MASS, i] * rest
