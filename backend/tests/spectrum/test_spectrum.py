"""The spectrum kernel against the plain NumPy oracle and the reference's golden capture.

Every comparison is exact (``np.array_equal``): the kernel must reproduce the reference
formulation bit for bit (up to the sign of a zero, which ``==`` does not see).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from spectrum_oracle import oracle_for  # beside this file (pytest puts it on the path)

from testdata import require_shared
from vacuum_pressure import spectrum_kernel as sk
from vacuum_pressure.config import InstrumentConfig, load_config
from vacuum_pressure.spectrum import (
    ProjectionModel,
    SpectrumError,
    SpectrumKernel,
)

BIN_NS = 100_000_000
T0 = 1_703_545_200_000_000_000


def small_config(**overrides: object) -> InstrumentConfig:
    """Default config with small windows so that a few hundred updates cover every phase."""
    values: dict[str, object] = {
        "spectrum_windows": (2, 3),
        "spectrum_rollup_weights": (1.0, 2.0),
        "zscore_window_bins": 12,
        "zscore_min_periods": 5,
    }
    values.update(overrides)
    return dataclasses.replace(load_config(), **values)  # type: ignore[arg-type]


def assert_same(frame: object, expected: tuple[np.ndarray, ...], where: str) -> None:
    score, state, proj = expected
    assert np.array_equal(frame.score, score), f"score differs at {where}"  # type: ignore[attr-defined]
    assert np.array_equal(frame.state_code, state), f"state differs at {where}"  # type: ignore[attr-defined]
    assert frame.state_code.dtype == np.int8  # type: ignore[attr-defined]
    assert np.array_equal(frame.projections, proj), f"projections differ at {where}"  # type: ignore[attr-defined]


def nasty_inputs(rng: np.random.Generator, n_steps: int, n: int) -> tuple[np.ndarray, ...]:
    """Pressure/vacuum/ts covering ties, zeros, constants, decays, huge and tiny magnitudes.

    Cell groups (by column modulo 12): all zero; constant; small integer values (many exact
    ties and duplicates at the median); decaying after a burst; tiny (1e-300 .. 1e-12);
    huge (1e300); random; sparse bursts separated by long silences (frozen and revived);
    equal P and V; values just around the skip threshold; pure noise; on/off every step.
    """
    p = np.zeros((n_steps, n))
    v = np.zeros((n_steps, n))
    group = np.arange(n) % 12
    for t in range(n_steps):
        for i in range(n):
            g = group[i]
            if g == 1:
                p[t, i], v[t, i] = 3.0, 1.0
            elif g == 2:
                p[t, i], v[t, i] = rng.integers(0, 3), rng.integers(0, 3)
            elif g == 3:
                p[t, i] = 5.0 * 0.9**t
                v[t, i] = 2.0 * 0.7**t if t > 3 else 4.0
            elif g == 4:
                p[t, i] = 10.0 ** rng.uniform(-300, -12)
                v[t, i] = 10.0 ** rng.uniform(-300, -12) if rng.random() < 0.5 else 0.0
            elif g == 5:
                p[t, i] = rng.choice([1e300, 1e-300, 0.0, 5.0])
                v[t, i] = rng.choice([1e300, 2.0, 0.0])
            elif g == 6:
                p[t, i], v[t, i] = rng.random() * 10, rng.random() * 10
            elif g == 7:
                burst = (t // 60) % 2 == 0 and t % 60 < 5
                p[t, i] = rng.random() if burst else 0.0
                v[t, i] = rng.random() if burst and rng.random() < 0.5 else 0.0
            elif g == 8:
                p[t, i] = v[t, i] = rng.random()
            elif g == 9:
                p[t, i] = 1.0 + rng.choice([0.0, 1e-11, 3e-12, -2e-11])
                v[t, i] = 1.0
            elif g == 10:
                p[t, i], v[t, i] = rng.standard_normal(), abs(rng.standard_normal())
            elif g == 11:
                p[t, i] = float(t % 2)
    steps = rng.choice([BIN_NS, BIN_NS, BIN_NS // 2, 3 * BIN_NS, 1, 0, -BIN_NS], size=n_steps)
    ts = T0 + np.cumsum(steps)
    return p, v, ts


@pytest.mark.parametrize(
    "projection",
    [
        ProjectionModel(),
        ProjectionModel(use_cubic=True),
        ProjectionModel(use_cubic=True, cubic_scale=0.25, damping_lambda=0.7),
        ProjectionModel(damping_lambda=2.5),
    ],
)
def test_matches_oracle_on_nasty_inputs(projection: ProjectionModel) -> None:
    rng = np.random.default_rng(11)
    n, n_steps = 48, 260
    config = small_config()
    p, v, ts = nasty_inputs(rng, n_steps, n)
    kernel = SpectrumKernel(n, config, projection)
    oracle = oracle_for(n, config, projection)
    for t in range(n_steps):
        expected = oracle.update(int(ts[t]), p[t], v[t])
        assert_same(kernel.update(int(ts[t]), p[t], v[t]), expected, f"step {t}")


@pytest.mark.parametrize("windows", [(1,), (5, 10, 20, 40), (7, 3)])
@pytest.mark.parametrize("z_window,min_periods", [(2, 2), (7, 3), (16, 16), (300, 75)])
def test_matches_oracle_across_window_shapes(
    windows: tuple[int, ...], z_window: int, min_periods: int
) -> None:
    rng = np.random.default_rng(z_window * 31 + len(windows))
    n = 24
    config = small_config(
        spectrum_windows=windows,
        spectrum_rollup_weights=tuple(float(k + 1) for k in range(len(windows))),
        zscore_window_bins=z_window,
        zscore_min_periods=min_periods,
    )
    n_steps = z_window + min_periods + 40
    kernel = SpectrumKernel(n, config)
    oracle = oracle_for(n, config)
    p = rng.integers(0, 4, size=(n_steps, n)).astype(np.float64)
    v = rng.integers(0, 4, size=(n_steps, n)).astype(np.float64) * rng.random((n_steps, n))
    p[:, :4] = 0.0  # untouched cells
    for t in range(n_steps):
        ts = T0 + (t + 1) * BIN_NS
        assert_same(kernel.update(ts, p[t], v[t]), oracle.update(ts, p[t], v[t]), f"step {t}")


def test_first_update_and_warmup_are_exactly_zero() -> None:
    config = small_config()
    kernel = SpectrumKernel(3, config)
    p = np.array([1.0, 0.0, 2.0])
    v = np.array([0.0, 0.0, 5.0])
    for t in range(config.zscore_min_periods - 1):
        frame = kernel.update(T0 + t * BIN_NS, p * (t + 1), v)
        assert np.array_equal(frame.score, np.zeros(3))
        assert np.array_equal(frame.projections, np.zeros((4, 3)))
        assert np.array_equal(frame.state_code, np.zeros(3, dtype=np.int8))


def test_all_zero_and_tiny_cells_give_exact_zero_without_a_median() -> None:
    # |d| <= 3e-10 everywhere: the skip rule must give z = 0 (and the oracle agrees).
    config = small_config()
    n, n_steps = 6, 80
    kernel = SpectrumKernel(n, config)
    oracle = oracle_for(n, config)
    rng = np.random.default_rng(5)
    for t in range(n_steps):
        p = np.zeros(n)
        p[3:] = 1.0 + rng.choice([0.0, 4e-15, -4e-15], size=3)  # d3 stays below 1e-10
        v = np.zeros(n)
        v[3:] = 1.0
        ts = T0 + t * BIN_NS
        expected = oracle.update(ts, p, v)
        frame = kernel.update(ts, p, v)
        assert_same(frame, expected, f"step {t}")
        assert np.array_equal(frame.score, np.zeros(n))
        assert kernel.last_evaluated == 0
    assert kernel.last_active == 3  # the untouched cells are frozen


def test_frozen_cells_revive_exactly() -> None:
    config = small_config()
    n = 4
    kernel = SpectrumKernel(n, config)
    oracle = oracle_for(n, config)
    rng = np.random.default_rng(9)
    quiet = kernel._freeze_after + 5
    schedule = [True] * 30 + [False] * quiet + [True] * 40 + [False] * quiet + [True] * 3
    for t, on in enumerate(schedule):
        p = rng.random(n) if on else np.zeros(n)
        v = rng.random(n) * (rng.random(n) < 0.5) if on else np.zeros(n)
        ts = T0 + t * BIN_NS
        assert_same(kernel.update(ts, p, v), oracle.update(ts, p, v), f"step {t}")


def test_nan_and_inf_inputs_follow_the_reference() -> None:
    config = small_config()
    n = 6
    kernel = SpectrumKernel(n, config)
    oracle = oracle_for(n, config)
    rng = np.random.default_rng(3)
    for t in range(60):
        p = rng.random(n)
        v = rng.random(n)
        if t == 20:
            p[1], v[2], p[3], v[3] = np.nan, np.inf, 1e308, -1e308
        ts = T0 + t * BIN_NS
        expected = oracle.update(ts, p, v)
        frame = kernel.update(ts, p, v)
        assert_same(frame, expected, f"step {t}")
        assert not np.isnan(frame.score).any()


def test_export_import_resumes_identically() -> None:
    rng = np.random.default_rng(21)
    n, n_steps, cut = 36, 150, 70
    config = small_config()
    projection = ProjectionModel(use_cubic=True, damping_lambda=0.3)
    p, v, ts = nasty_inputs(rng, n_steps, n)
    straight = SpectrumKernel(n, config, projection)
    for t in range(cut):
        straight.update(int(ts[t]), p[t], v[t])
    state = straight.export_state()
    resumed = SpectrumKernel(n, config, projection)
    resumed.import_state(state)
    for t in range(cut, n_steps):
        a = straight.update(int(ts[t]), p[t], v[t])
        b = resumed.update(int(ts[t]), p[t], v[t])
        assert_same(b, (a.score, a.state_code, a.projections), f"step {t}")
    # The exported arrays are copies: later updates did not change them.
    again = SpectrumKernel(n, config, projection)
    again.import_state(state)
    first = again.update(int(ts[cut]), p[cut], v[cut])
    check = SpectrumKernel(n, config, projection)
    for t in range(cut + 1):
        frame = check.update(int(ts[t]), p[t], v[t])
    assert np.array_equal(first.score, frame.score)
    assert np.array_equal(first.projections, frame.projections)


def test_import_of_a_fresh_state_equals_a_fresh_kernel() -> None:
    config = small_config()
    state = SpectrumKernel(5, config).export_state()
    kernel = SpectrumKernel(5, config)
    kernel.import_state(state)
    oracle = oracle_for(5, config)
    p = np.arange(5.0)
    for t in range(3):
        assert_same(kernel.update(T0 + t, p, p[::-1]), oracle.update(T0 + t, p, p[::-1]), "x")


def test_import_rejects_foreign_states() -> None:
    config = small_config()
    state = SpectrumKernel(5, config).export_state()
    with pytest.raises(SpectrumError, match="5 cells"):
        SpectrumKernel(6, config).import_state(state)
    with pytest.raises(SpectrumError, match="d_ring"):
        SpectrumKernel(5, small_config(zscore_window_bins=13)).import_state(state)
    broken = dict(state)
    del broken["sums"]
    with pytest.raises(SpectrumError, match="sums"):
        SpectrumKernel(5, config).import_state(broken)


def test_rejects_bad_inputs() -> None:
    kernel = SpectrumKernel(4, small_config())
    with pytest.raises(SpectrumError, match=r"pressure has shape \(3,\)"):
        kernel.update(T0, np.zeros(3), np.zeros(4))
    with pytest.raises(SpectrumError, match="n_cells = 0"):
        SpectrumKernel(0, small_config())
    with pytest.raises(SpectrumError, match="damping_lambda"):
        SpectrumKernel(4, small_config(), ProjectionModel(damping_lambda=-1.0))


def test_frame_is_read_only() -> None:
    frame = SpectrumKernel(4, small_config()).update(T0, np.ones(4), np.zeros(4))
    with pytest.raises(ValueError, match="read-only"):
        frame.score[0] = 1.0


finite_or_not = st.floats(allow_nan=True, allow_infinity=True, width=64)
magnitudes = st.one_of(
    st.just(0.0),
    st.floats(min_value=0.0, max_value=1e6),
    st.floats(min_value=1e-320, max_value=1e-8),
    st.sampled_from([1.0, 2.0, 1e300, 5e-324]),
)


@settings(max_examples=40, deadline=None)
@given(
    data=hnp.arrays(np.float64, (40, 2, 5), elements=magnitudes),
    weird=st.lists(finite_or_not, min_size=0, max_size=3),
    steps=st.lists(st.sampled_from([BIN_NS, 1, 0, -5, 7 * BIN_NS]), min_size=40, max_size=40),
    threshold=st.floats(min_value=0.01, max_value=0.99),
)
def test_property_bounded_consistent_and_equal_to_oracle(
    data: np.ndarray, weird: list[float], steps: list[int], threshold: float
) -> None:
    config = small_config(
        spectrum_threshold_neutral=threshold, zscore_window_bins=6, zscore_min_periods=3
    )
    for k, value in enumerate(weird):
        data[10 + k, 0, k] = value
    kernel = SpectrumKernel(5, config, ProjectionModel(use_cubic=True))
    oracle = oracle_for(5, config, ProjectionModel(use_cubic=True))
    ts = T0
    for t in range(data.shape[0]):
        ts += steps[t]
        frame = kernel.update(ts, data[t, 0], data[t, 1])
        assert_same(frame, oracle.update(ts, data[t, 0], data[t, 1]), f"step {t}")
        score = frame.score
        assert np.all(np.isfinite(score)) and np.all(np.abs(score) <= 1.0)
        assert np.all(np.isfinite(frame.projections)) and np.all(np.abs(frame.projections) <= 1)
        expected_state = np.where(score >= threshold, 1, np.where(score <= -threshold, -1, 0))
        assert np.array_equal(frame.state_code, expected_state)


@settings(max_examples=200, deadline=None)
@given(
    values=hnp.arrays(
        np.float64,
        st.integers(2, 40),
        elements=st.one_of(
            st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5]),
            st.floats(min_value=-1e12, max_value=1e12),
        ),
    ),
    start=st.integers(0, 39),
)
def test_median_mad_of_circular_sorted_array_equals_numpy(values: np.ndarray, start: int) -> None:
    n = values.size
    cap = 40
    ordered = np.sort(values)
    a = np.full(cap, np.nan)
    for j in range(n):
        a[(start + j) % cap] = ordered[j]
    med, mad = sk.median_mad_sorted(a, start, cap, n)
    expected_med = np.median(values)
    assert med == expected_med
    assert mad == np.median(np.abs(values - expected_med))


@settings(max_examples=200, deadline=None)
@given(
    window=hnp.arrays(
        np.float64, 17, elements=st.sampled_from([0.0, 1.0, 2.0, 3.0, -4.0, 0.5, 7.0])
    ),
    new=st.floats(min_value=-8, max_value=8),
    leave=st.integers(0, 16),
    start=st.integers(0, 16),
)
def test_replace_and_insert_keep_the_window_sorted(
    window: np.ndarray, new: float, leave: int, start: int
) -> None:
    cap = 17
    ordered = np.sort(window)
    a = np.empty(cap)
    for j in range(cap):
        a[(start + j) % cap] = ordered[j]
    old = window[leave]
    s = sk.replace_sorted(a, start, cap, cap, old, new)
    got = np.array([a[(s + j) % cap] for j in range(cap)])
    expected = np.sort(np.concatenate([np.delete(window, leave), [new]]))
    assert np.array_equal(got, expected)
    s2 = sk.insert_sorted(a, s, cap, cap - 1, 100.0)  # drops the last slot's value, then inserts
    got2 = np.array([a[(s2 + j) % cap] for j in range(cap)])
    assert np.array_equal(got2, np.concatenate([expected[: cap - 1], [100.0]]))


def test_numpy_tanh_is_elementwise_identical_on_subsets() -> None:
    # The kernel calls np.tanh on the compact list of non-zero z (the reference on full-grid
    # arrays); this is exact only if NumPy's SIMD tanh does not depend on an element's position.
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(200_000) * s for s in (1e-12, 1e-3, 0.3, 1, 4, 40)])
    full = np.tanh(x)
    for _ in range(300):
        m = int(rng.integers(1, 100))
        idx = rng.choice(x.size, m, replace=False)
        buf = np.empty(m + 1)
        np.tanh(x[idx], out=buf[1:])
        assert np.array_equal(buf[1:], full[idx])
    assert np.signbit(np.tanh(np.array([-0.0]))[0])


def test_default_config_full_grid_matches_oracle_on_live_cells() -> None:
    # 8192 cells, W = 300, min periods 75: the kernel runs the full grid; the oracle (whose cells
    # are independent columns) runs the live cells plus a few untouched ones.
    config = load_config()
    n = config.n_absolute_ticks
    n_steps = 400
    rng = np.random.default_rng(17)
    live = np.sort(rng.choice(n, 40, replace=False))
    watched = np.concatenate([live, [0, 1, n - 1]])
    kernel = SpectrumKernel(n, config)
    oracle = oracle_for(watched.size, config)
    p = np.zeros(n)
    v = np.zeros(n)
    keep = np.exp(-0.1 / 2.0)
    kinds = np.arange(live.size) % 4
    for t in range(n_steps):
        p *= keep
        v *= keep
        hits = rng.random(live.size) < np.where(kinds == 0, 0.5, np.where(kinds == 1, 0.05, 0.01))
        hits &= (kinds != 3) | (t < 100)
        p[live[hits]] += rng.integers(1, 9, hits.sum())
        v[live[hits & (rng.random(live.size) < 0.5)]] += 3.0
        if t % 97 == 0:
            v[live[kinds == 2]] = 0.0
        ts = T0 + (t + 1) * BIN_NS
        frame = kernel.update(ts, p, v)
        score, state, proj = oracle.update(ts, p[watched], v[watched])
        assert np.array_equal(frame.score[watched], score), f"step {t}"
        assert np.array_equal(frame.state_code[watched], state), f"step {t}"
        assert np.array_equal(frame.projections[:, watched], proj), f"step {t}"
        others = np.ones(n, dtype=bool)
        others[watched] = False
        assert not frame.score[others].any()
    assert kernel.last_evaluated > 0


def test_golden_capture_cells_always_in_window() -> None:
    """The reference's own outputs for the 70 ticks that stay inside the served window."""
    import pyarrow.parquet as pq

    folder = require_shared("reference/esh4_20231225_1800_1805")
    columns = ["ts_ns", "bin_seq", "k", "spot_ref_price_int", "pressure_variant"]
    columns += ["vacuum_variant", "spectrum_score", "spectrum_state_code"]
    horizons = ["proj_score_h100", "proj_score_h200", "proj_score_h300", "proj_score_h400"]
    table = pq.read_table(folder / "buckets.parquet", columns=columns + horizons)
    df = table.to_pandas()
    tick_int = 250_000_000
    df["tick"] = df["spot_ref_price_int"] // tick_int + df["k"]
    per_tick = df.groupby("tick")["bin_seq"].count()
    n_bins = df["bin_seq"].nunique()
    ticks = per_tick.index[per_tick == n_bins].to_numpy()
    assert ticks.size == 70
    df = df[df["tick"].isin(ticks)].sort_values(["bin_seq", "tick"])

    def matrix(col: str) -> np.ndarray:
        return df[col].to_numpy().reshape(n_bins, ticks.size)

    pressure, vacuum = matrix("pressure_variant"), matrix("vacuum_variant")
    score, state = matrix("spectrum_score"), matrix("spectrum_state_code")
    proj = np.stack([matrix(h) for h in horizons], axis=1)
    ts = matrix("ts_ns")[:, 0]
    config = dataclasses.replace(load_config(), symbol="ESH4", symbol_root="ES")
    kernel = SpectrumKernel(ticks.size, config)
    for b in range(n_bins):
        frame = kernel.update(int(ts[b]), pressure[b], vacuum[b])
        assert_same(frame, (score[b], state[b], proj[b]), f"golden bin {b}")


# -- window mode: exact on the window's cells ----------------------------------------------------
def random_windows(
    rng: np.random.Generator, n_steps: int, n: int, radius: int, margin: int
) -> list[tuple[int, int] | None]:
    """A spot-like random walk of the window centre: mostly still or +-1, sometimes jumps larger
    than the margin, past the grid edges (clipped windows), no spot (empty) or full mode."""
    centre = n // 2
    out: list[tuple[int, int] | None] = []
    for _ in range(n_steps):
        r = rng.random()
        if r < 0.04:
            centre = int(rng.integers(-radius, n + radius))
        elif r < 0.10:
            centre += int(rng.choice([-1, 1])) * int(rng.integers(margin + 1, 3 * margin + 8))
        elif r < 0.50:
            centre += int(rng.choice([-1, 1]))
        centre = min(max(centre, -radius), n - 1 + radius)
        r = rng.random()
        if r < 0.03:
            out.append((0, 0))
        elif r < 0.05:
            out.append(None)
        else:
            out.append((max(0, centre - radius), min(n, centre + radius + 1)))
    return out


def check_window_against_full(
    n: int,
    config: InstrumentConfig,
    projection: ProjectionModel,
    p: np.ndarray,
    v: np.ndarray,
    ts: np.ndarray,
    windows: list[tuple[int, int] | None],
    margin: int,
) -> SpectrumKernel:
    full = SpectrumKernel(n, config, projection)
    win = SpectrumKernel(n, config, projection, track_margin=margin)
    for t, window in enumerate(windows):
        a = full.update(int(ts[t]), p[t], v[t])
        b = win.update(int(ts[t]), p[t], v[t], window=window)
        lo, hi = (0, n) if window is None else window
        where = f"step {t} window {window}"
        assert np.array_equal(b.score[lo:hi], a.score[lo:hi]), f"score differs at {where}"
        assert np.array_equal(b.state_code[lo:hi], a.state_code[lo:hi]), f"state at {where}"
        assert np.array_equal(b.projections[:, lo:hi], a.projections[:, lo:hi]), where
        if window is not None and lo < hi:
            outside = np.ones(n, dtype=bool)
            outside[max(0, lo - margin) : hi + margin] = False
            assert not b.score[outside].any() and not b.projections[:, outside].any(), where
    return win


@pytest.mark.parametrize(
    "projection",
    [
        ProjectionModel(),
        ProjectionModel(use_cubic=True),
        ProjectionModel(use_cubic=True, cubic_scale=0.25, damping_lambda=0.7),
    ],
)
@pytest.mark.parametrize("margin", [0, 3])
def test_window_mode_equals_full_mode_on_window_cells(
    projection: ProjectionModel, margin: int
) -> None:
    rng = np.random.default_rng(41 + margin)
    n, n_steps = 60, 300
    config = small_config()
    p, v, ts = nasty_inputs(rng, n_steps, n)
    windows = random_windows(rng, n_steps, n, radius=4, margin=margin)
    win = check_window_against_full(n, config, projection, p, v, ts, windows, margin)
    assert win.last_active > 0


@pytest.mark.parametrize("z_window,min_periods", [(2, 2), (7, 7), (16, 4)])
def test_window_mode_across_window_shapes(z_window: int, min_periods: int) -> None:
    rng = np.random.default_rng(z_window * 7 + min_periods)
    n, n_steps = 40, 4 * z_window + 60
    config = small_config(zscore_window_bins=z_window, zscore_min_periods=min_periods)
    p, v, ts = nasty_inputs(rng, n_steps, n)
    windows = random_windows(rng, n_steps, n, radius=3, margin=2)
    check_window_against_full(n, config, ProjectionModel(use_cubic=True), p, v, ts, windows, 2)


@pytest.mark.parametrize("use_cubic", [False, True])
@pytest.mark.parametrize("enter_at", [1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 14, 15, 40])
def test_cells_entering_during_and_right_after_warmup(use_cubic: bool, enter_at: int) -> None:
    # min periods 5, W = 12: a window asked for from step enter_at onwards (nothing before), so
    # its cells' last three scores straddle the first update, the min-periods boundary and the
    # first full window.
    rng = np.random.default_rng(enter_at)
    n, n_steps = 24, enter_at + 20
    config = small_config()
    p, v, ts = nasty_inputs(rng, n_steps, n)
    windows: list[tuple[int, int] | None] = [(0, 0)] * enter_at + [(6, 18)] * (n_steps - enter_at)
    check_window_against_full(n, config, ProjectionModel(use_cubic=use_cubic), p, v, ts, windows, 1)


def test_window_mode_on_the_default_grid() -> None:
    # 8192 cells, W = 300, min periods 75: a decaying market around a walking spot; the window
    # (radius 50) jumps now and then, so cells with several hundred bins of history enter.
    config = load_config()
    n = config.n_absolute_ticks
    n_steps = 420
    rng = np.random.default_rng(23)
    full = SpectrumKernel(n, config)
    win = SpectrumKernel(n, config)
    p = np.zeros(n)
    v = np.zeros(n)
    keep = np.exp(-0.1 / 2.0)
    spot = n // 2
    centre = spot
    entered = 0
    for t in range(n_steps):
        p *= keep
        v *= keep
        spot += int(rng.choice([-1, 0, 1], p=[0.2, 0.6, 0.2]))
        ticks = spot + rng.integers(-60, 61, 12)
        p[ticks[:6]] += rng.integers(1, 9, 6)
        v[ticks[6:]] += rng.integers(1, 9, 6)
        centre = spot + (int(rng.integers(-40, 41)) if t % 50 == 49 else 0)
        ts = T0 + (t + 1) * BIN_NS
        a = full.update(ts, p, v)
        b = win.update(ts, p, v, window=(centre - 50, centre + 51))
        entered += win.last_entered
        sl = slice(centre - 50, centre + 51)
        assert np.array_equal(b.score[sl], a.score[sl]), f"step {t}"
        assert np.array_equal(b.state_code[sl], a.state_code[sl]), f"step {t}"
        assert np.array_equal(b.projections[:, sl], a.projections[:, sl]), f"step {t}"
    assert win.last_evaluated < full.last_evaluated
    assert entered > 101


def test_window_mode_export_import_resumes_identically() -> None:
    rng = np.random.default_rng(77)
    n, n_steps, cut = 50, 200, 90
    config = small_config()
    projection = ProjectionModel(use_cubic=True, damping_lambda=0.3)
    p, v, ts = nasty_inputs(rng, n_steps, n)
    windows = random_windows(rng, n_steps, n, radius=4, margin=2)
    windows[cut] = (20, 29)  # tracked at the cut: their chains travel in the state
    full = SpectrumKernel(n, config, projection)
    straight = SpectrumKernel(n, config, projection, track_margin=2)
    for t in range(cut + 1):
        full.update(int(ts[t]), p[t], v[t])
        straight.update(int(ts[t]), p[t], v[t], window=windows[t])
    state = straight.export_state()
    assert (state["track_lo"], state["track_hi"]) == (20, 29)
    untracked = np.ones(n, dtype=bool)
    untracked[20:29] = False
    assert not np.asarray(state["prev_score"])[untracked].any()  # compact: no stale chains
    resumed = SpectrumKernel(n, config, projection, track_margin=2)
    resumed.import_state(state)
    as_full = SpectrumKernel(n, config, projection)
    as_full.import_state(state)
    for t in range(cut + 1, n_steps):
        a = full.update(int(ts[t]), p[t], v[t])
        b = straight.update(int(ts[t]), p[t], v[t], window=windows[t])
        c = resumed.update(int(ts[t]), p[t], v[t], window=windows[t])
        d = as_full.update(int(ts[t]), p[t], v[t])  # a window-mode state resumed in full mode
        assert_same(d, (a.score, a.state_code, a.projections), f"full after import, step {t}")
        lo, hi = (0, n) if windows[t] is None else windows[t]
        for frame in (b, c):
            assert np.array_equal(frame.score[lo:hi], a.score[lo:hi]), f"step {t}"
            assert np.array_equal(frame.projections[:, lo:hi], a.projections[:, lo:hi])
        assert np.array_equal(c.score, b.score), f"resumed differs at step {t}"
        assert np.array_equal(c.projections, b.projections), f"resumed differs at step {t}"


def test_rejects_bad_windows() -> None:
    kernel = SpectrumKernel(8, small_config())
    with pytest.raises(SpectrumError, match=r"window \(3, 9\) is invalid"):
        kernel.update(T0, np.zeros(8), np.zeros(8), window=(3, 9))
    with pytest.raises(SpectrumError, match=r"window \(5, 4\) is invalid"):
        kernel.update(T0, np.zeros(8), np.zeros(8), window=(5, 4))
    with pytest.raises(SpectrumError, match="track_margin"):
        SpectrumKernel(8, small_config(), track_margin=-1)
