"""Benchmark the spectrum kernel against the plain NumPy oracle on a synthetic full grid.

Prints milliseconds per update (bin) for ``SpectrumKernel`` and for the test oracle
(``tests/spectrum/spectrum_oracle.py``, full ``np.median`` like the reference) in the same run,
checks that both agree bit for bit on the bins the oracle ran, and reports how many cells were
live (needed a median) per update. With ``--window-radius R`` the kernel runs in window mode
(``update(..., window=(spot - R, spot + R + 1))``, as the serve path does) and is compared with a
full-mode kernel on the window's cells instead of the oracle.

The synthetic market: a random-walk spot on the 8192-tick grid; every bin a Poisson number of
order events lands around the spot (Laplace-distributed distance) and adds pressure or vacuum
mass to that tick; every tick's pressure and vacuum decay with different time constants, so the
composite of a once-touched tick keeps drifting for a while and never returns to exactly 0.

    uv run scripts/benchmark_spectrum.py --bins 1500 --oracle-bins 330
    uv run scripts/benchmark_spectrum.py --bins 3000 --events-per-bin 20 --spread-ticks 200 \
        --window-radius 50
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path
from types import ModuleType

import numpy as np

from vacuum_pressure.config import load_config
from vacuum_pressure.spectrum import SpectrumKernel

ORACLE_PATH = Path(__file__).resolve().parents[1] / "tests" / "spectrum" / "spectrum_oracle.py"


def load_oracle() -> ModuleType:
    spec = importlib.util.spec_from_file_location("spectrum_oracle", ORACLE_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def synthetic_market(
    n_bins: int,
    n_cells: int,
    events_per_bin: float,
    spread_ticks: float,
    seed: int,
    mixed_decay: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pressure and vacuum arrays (n_bins, n_cells) and the spot tick per bin of a synthetic
    market, 100 ms bins.

    By default pressure and vacuum decay with the engine's velocity time constant (2 s), so a
    tick's composite settles once it is left alone, as in the engine. ``mixed_decay`` gives every
    tick different random time constants for pressure and vacuum (0.5-4 s): composites then keep
    drifting for minutes, a stress case with many more live cells.
    """
    rng = np.random.default_rng(seed)
    dt = 0.1
    if mixed_decay:
        keep_p = np.exp(-dt / rng.uniform(0.5, 4.0, n_cells))
        keep_v = np.exp(-dt / rng.uniform(0.5, 4.0, n_cells))
    else:
        keep_p = keep_v = np.full(n_cells, np.exp(-dt / 2.0))
    p = np.zeros(n_cells)
    v = np.zeros(n_cells)
    spot = float(n_cells // 2)
    pressure = np.empty((n_bins, n_cells))
    vacuum = np.empty((n_bins, n_cells))
    spots = np.empty(n_bins, dtype=np.int64)
    for b in range(n_bins):
        spot += rng.choice([-1.0, 0.0, 1.0], p=[0.1, 0.8, 0.1])
        spots[b] = int(spot)
        p *= keep_p
        v *= keep_v
        n_events = rng.poisson(events_per_bin)
        ticks = np.clip(
            np.rint(spot + rng.laplace(0.0, spread_ticks, n_events)), 0, n_cells - 1
        ).astype(np.int64)
        sizes = rng.integers(1, 20, n_events).astype(np.float64)
        to_pressure = rng.random(n_events) < 0.5
        np.add.at(p, ticks[to_pressure], sizes[to_pressure])
        np.add.at(v, ticks[~to_pressure], sizes[~to_pressure])
        pressure[b] = p
        vacuum[b] = v
    return pressure, vacuum, spots


def timing_summary(times: np.ndarray, steady: slice) -> str:
    """Mean, p50, p99 and max of ``times`` (s) over the ``steady`` bins, in ms per bin."""
    t = 1e3 * times[steady]
    return (
        f"{np.mean(t):.3f} ms/bin mean, p50 {np.median(t):.3f}, "
        f"p99 {np.percentile(t, 99):.3f}, max {np.max(t):.3f} (bins >= {steady.start})"
    )


def run_window_mode(
    pressure: np.ndarray, vacuum: np.ndarray, spots: np.ndarray, radius: int, ts0: int, step: int
) -> None:
    """Window mode around the spot, timed, and checked against a full-mode kernel."""
    config = load_config()
    n_bins, n = pressure.shape
    windows = [(max(0, int(s) - radius), min(n, int(s) + radius + 1)) for s in spots]
    warm = SpectrumKernel(n, config)
    warm.update(ts0, pressure[0], vacuum[0], window=windows[0])  # compile outside the timing
    kernel = SpectrumKernel(n, config)
    times = np.empty(n_bins)
    evaluated = np.empty(n_bins, dtype=np.int64)
    entered = 0
    kept = []
    for b in range(n_bins):
        t0 = time.perf_counter()
        frame = kernel.update(ts0 + (b + 1) * step, pressure[b], vacuum[b], window=windows[b])
        times[b] = time.perf_counter() - t0
        evaluated[b] = kernel.last_evaluated
        entered += kernel.last_entered
        lo, hi = windows[b]
        kept.append((frame.score[lo:hi].copy(), frame.projections[:, lo:hi].copy()))
    w = config.zscore_window_bins
    steady = slice(w, n_bins) if n_bins > w else slice(0, n_bins)
    print(f"grid {n} cells, z window {w}, {n_bins} bins, window radius {radius}")
    print(f"window mode: {timing_summary(times, steady)}")
    print(
        f"  medians per bin: mean {evaluated[steady].mean():.0f}; cells entering the tracked "
        f"range: {entered} ({entered / n_bins:.2f} per bin)"
    )
    full = SpectrumKernel(n, config)
    ftimes = np.empty(n_bins)
    mismatches = 0
    for b in range(n_bins):
        t0 = time.perf_counter()
        frame = full.update(ts0 + (b + 1) * step, pressure[b], vacuum[b])
        ftimes[b] = time.perf_counter() - t0
        lo, hi = windows[b]
        score, proj = kept[b]
        if not (
            np.array_equal(frame.score[lo:hi], score)
            and np.array_equal(frame.projections[:, lo:hi], proj)
        ):
            mismatches += 1
    print(f"full mode: {1e3 * np.mean(ftimes[steady]):.3f} ms/bin mean")
    print(f"window cells bit-identical to full mode: {n_bins - mismatches}/{n_bins} bins")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--bins", type=int, default=1500, help="bins through the kernel")
    parser.add_argument("--oracle-bins", type=int, default=330, help="bins through the oracle")
    parser.add_argument("--events-per-bin", type=float, default=8.0)
    parser.add_argument("--spread-ticks", type=float, default=40.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--mixed-decay", action="store_true", help="stress case: per-tick random decay constants"
    )
    parser.add_argument(
        "--window-radius",
        type=int,
        default=-1,
        help="window mode around the spot with this radius (ticks); compared with full mode",
    )
    args = parser.parse_args()

    config = load_config()
    n = config.n_absolute_ticks
    w = config.zscore_window_bins
    pressure, vacuum, spots = synthetic_market(
        args.bins, n, args.events_per_bin, args.spread_ticks, args.seed, args.mixed_decay
    )
    ts0 = 1_700_000_000_000_000_000
    step_ns = config.cell_width_ns
    if args.window_radius >= 0:
        run_window_mode(pressure, vacuum, spots, args.window_radius, ts0, step_ns)
        return

    kernel = SpectrumKernel(n, config)
    kernel.update(ts0, pressure[0], vacuum[0])  # compile outside the timing
    kernel = SpectrumKernel(n, config)
    times = np.empty(args.bins)
    live = np.empty(args.bins, dtype=np.int64)
    touched = np.empty(args.bins, dtype=np.int64)
    kernel_scores = {}
    for b in range(args.bins):
        t0 = time.perf_counter()
        frame = kernel.update(ts0 + (b + 1) * step_ns, pressure[b], vacuum[b])
        times[b] = time.perf_counter() - t0
        live[b] = kernel.last_evaluated
        touched[b] = int(np.count_nonzero((pressure[b] != 0) | (vacuum[b] != 0)))
        if b < args.oracle_bins:
            kernel_scores[b] = (frame.score.copy(), frame.projections.copy())

    steady = slice(w, args.bins) if args.bins > w else slice(0, args.bins)
    print(f"grid {n} cells, z window {w}, {args.bins} bins")
    print(f"kernel: {timing_summary(times, steady)}")
    print(
        f"  cells with non-zero history: mean {touched[steady].mean():.0f}, "
        f"final {touched[-1]}; live (channel, cell) medians per bin: mean {live[steady].mean():.0f}"
        f", max {live[steady].max()}"
    )

    if args.oracle_bins <= 0:
        return
    oracle_mod = load_oracle()
    oracle = oracle_mod.oracle_for(n, config)
    n_oracle = min(args.oracle_bins, args.bins)
    otimes = np.empty(n_oracle)
    mismatches = 0
    for b in range(n_oracle):
        t0 = time.perf_counter()
        score, _state, proj = oracle.update(ts0 + (b + 1) * step_ns, pressure[b], vacuum[b])
        otimes[b] = time.perf_counter() - t0
        ks, kp = kernel_scores[b]
        if not (np.array_equal(ks, score) and np.array_equal(kp, proj)):
            mismatches += 1
    full = slice(w, n_oracle) if n_oracle > w else slice(0, n_oracle)
    print(
        f"oracle: {1e3 * np.mean(otimes[full]):.1f} ms/bin mean over bins "
        f"{full.start}..{n_oracle - 1}"
        f"; kernel on the same bins {1e3 * np.mean(times[full]):.3f} ms/bin"
    )
    print(f"bit-identical: {n_oracle - mismatches}/{n_oracle} bins")


if __name__ == "__main__":
    main()
