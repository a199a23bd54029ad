"""Pressure-core throughput benchmark (``benchmark_vp_core.py``).

Decodes the day once, then times, on the same records in the same run:
- the core path (full grid, no spectrum) and, with ``--serve``, the serve path (spectrum and
  window included);
- with ``--read-grid``, the core path again with a consumer that reads every bin's full grid
  (the core path defers the passive advance to the ticks that are touched or read, so a
  consumer that reads every grid pays for the advance of every active tick at every bin);
- a plain-Python dict order book (book only, no mechanics) as the baseline, with the ratio.
Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import resolve_config
from .engine.kernels import PRESSURE
from .events import ACTION_ADD, ACTION_CANCEL, ACTION_CLEAR, ACTION_FILL, ACTION_MODIFY, SIDE_BID
from .pipeline.core import CorePipeline, stream_core_events
from .pipeline.serve import ServePipeline, iter_serve_bins
from .source import open_replay
from .timeutil import NS_PER_S, format_et, warmup_bounds_ns


@dataclass
class RunFigures:
    """What one timed run produced."""

    name: str
    bins: int
    events: int
    last_event_id: int
    span_ns: int
    wall_s: float
    pressure_sum: float | None = None  # read-grid runs: the sum over bins of the grid's pressure

    def lines(self) -> list[str]:
        span_s = self.span_ns / 1e9
        read = (
            [] if self.pressure_sum is None else [f"  pressure sum read  {self.pressure_sum:.6g}"]
        )
        return [
            f"[{self.name}]",
            f"  bins               {self.bins:,}",
            f"  events processed   {self.events:,}",
            f"  last event id      {self.last_event_id:,}",
            f"  replay span        {span_s:,.1f} s of market time",
            f"  wall time          {self.wall_s:.3f} s",
            f"  bins/s             {self.bins / self.wall_s:,.0f}",
            f"  events/s           {self.events / self.wall_s:,.0f}",
            f"  real-time multiple {span_s / self.wall_s:,.1f}x",
            *read,
        ]


def _chunks(events: np.ndarray, size: int = 1 << 16) -> Iterator[np.ndarray]:
    for i in range(0, events.shape[0], size):
        yield events[i : i + size]


def _timed(
    name: str, pipe: CorePipeline | ServePipeline, events: np.ndarray, read_grid: bool = False
) -> RunFigures:
    frames = (
        stream_core_events(pipe, _chunks(events))
        if isinstance(pipe, CorePipeline)
        else iter_serve_bins(pipe, _chunks(events))
    )
    t0 = time.perf_counter()
    first = last = bins = 0
    pressure_sum = 0.0
    for frame in frames:
        if bins == 0:
            first = frame.header.bin_start_ns
        last = frame.header.bin_end_ns
        bins += 1
        if read_grid:
            pressure_sum += float(frame.fields[PRESSURE].sum())  # core path: engine order
    wall = time.perf_counter() - t0
    engine = pipe.engine
    # The serve path also runs the book phase (pre-warmup records, book only).
    processed = engine.event_count if isinstance(pipe, ServePipeline) else engine.processed_count
    read = pressure_sum if read_grid else None
    return RunFigures(name, bins, processed, engine.event_count, last - first, wall, read)


def run_core(
    config, dt: str, start_time: str, events: np.ndarray, fail: bool, read_grid: bool = False
) -> RunFigures:
    """Time the core path over pre-decoded records (optionally reading every bin's grid)."""
    pipe = CorePipeline(config, dt, start_time, fail_on_out_of_range=fail)
    name = "core path, every bin's full grid read" if read_grid else "core path"
    return _timed(name, pipe, events, read_grid)


def run_serve(config, dt: str, start_time: str, events: np.ndarray, fail: bool) -> RunFigures:
    """Time the serve path (book phase, warmup, spectrum, window) over pre-decoded records."""
    pipe = ServePipeline(config, dt, start_time, fail_on_out_of_range=fail)
    return _timed("serve path", pipe, events)


def dict_book_baseline(events: np.ndarray, warmup_start_ns: int) -> tuple[int, float]:
    """A plain-Python dict order book (A/C/M/F/R, book only) over the core path's records.

    Returns (records processed, wall seconds of the loop alone).
    """
    sel = events[events["ts"] >= warmup_start_ns]
    cols = [sel[name].tolist() for name in ("action", "side", "price", "size", "order_id")]
    orders: dict[int, list[int]] = {}
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    t0 = time.perf_counter()
    for action, side, price, size, oid in zip(*cols, strict=True):
        if action == ACTION_ADD:
            orders[oid] = [side, price, size]
            book = bids if side == SIDE_BID else asks
            book[price] = book.get(price, 0) + size
        elif action in (ACTION_CANCEL, ACTION_MODIFY, ACTION_FILL):
            o = orders.get(oid)
            if o is None:
                if action == ACTION_MODIFY:
                    orders[oid] = [side, price, size]
                    book = bids if side == SIDE_BID else asks
                    book[price] = book.get(price, 0) + size
                continue
            book = bids if o[0] == SIDE_BID else asks
            old_price = o[1]
            take = min(size, o[2]) if action == ACTION_FILL else o[2]
            left = book[old_price] - take
            if left:
                book[old_price] = left
            else:
                del book[old_price]
            if action == ACTION_MODIFY:
                o[:] = [side, price, size]
                nbook = bids if side == SIDE_BID else asks
                nbook[price] = nbook.get(price, 0) + size
            else:
                o[2] -= take
                if o[2] == 0:
                    del orders[oid]
        elif action == ACTION_CLEAR:
            orders.clear()
            bids.clear()
            asks.clear()
    return len(cols[0]), time.perf_counter() - t0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="benchmark_vp_core.py",
        description="Pressure-core replay benchmark: core path (and serve path) vs a dict book.",
    )
    p.add_argument("--product-type", required=True, choices=["future_mbo", "equity_mbo"])
    p.add_argument("--symbol", required=True)
    p.add_argument("--dt", required=True, help="session date YYYY-MM-DD")
    p.add_argument("--start-time", required=True, help="ET HH:MM where bins start")
    p.add_argument("--end-time", default=None, help="ET HH:MM to stop (default: end of file)")
    p.add_argument("--fail-on-out-of-range", action="store_true")
    p.add_argument("--serve", action="store_true", help="also time the serve path")
    p.add_argument(
        "--read-grid",
        action="store_true",
        help="also time the core path with a consumer that reads every bin's full grid",
    )
    p.add_argument("--lake-root", type=Path, default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    config = resolve_config(args.product_type, args.symbol)
    source = open_replay(config, args.dt, args.lake_root)
    t0 = time.perf_counter()
    events = source.read_all()
    decode_s = time.perf_counter() - t0
    warm_start, emit_after = warmup_bounds_ns(args.dt, args.start_time)
    if args.end_time:
        _, end_ns = warmup_bounds_ns(args.dt, args.end_time)
        late = np.flatnonzero(events["ts"] >= end_ns)  # the first such record, in file order
        if late.size:
            events = events[: int(late[0])]
    print(f"instrument         {config.product_type}:{config.symbol} ({source.path.name})")
    print(
        f"date / start       {args.dt} / {args.start_time} ET (warmup from {format_et(warm_start)})"
    )
    rows = 2 * config.grid_radius_ticks + 1
    print(f"rows per grid      {config.n_absolute_ticks:,} (core), {rows} (serve)")
    print(f"cell width         {config.cell_width_ms} ms")
    print(f"records decoded    {events.shape[0]:,} in {decode_s:.2f} s")
    # Warm the JIT caches (compile or load) on records around the start, so that bins are
    # emitted and every timed kernel, the spectrum's too, is ready before the clock starts.
    ts = events["ts"]
    warm = events[(ts >= emit_after - 2 * NS_PER_S) & (ts < emit_after + 3 * NS_PER_S)]
    run_core(config, args.dt, args.start_time, warm, args.fail_on_out_of_range, True)
    core = run_core(config, args.dt, args.start_time, events, args.fail_on_out_of_range)
    print("\n".join(core.lines()))
    if args.read_grid:
        read = run_core(config, args.dt, args.start_time, events, args.fail_on_out_of_range, True)
        print("\n".join(read.lines()))
    if args.serve:
        run_serve(config, args.dt, args.start_time, warm, args.fail_on_out_of_range)
        serve = run_serve(config, args.dt, args.start_time, events, args.fail_on_out_of_range)
        print("\n".join(serve.lines()))
    n, wall = dict_book_baseline(events, warm_start)
    print("[baseline: plain-Python dict order book, book only]")
    print(f"  events processed   {n:,}")
    print(f"  wall time          {wall:.3f} s")
    print(f"  events/s           {n / wall:,.0f}")
    print(f"core path / dict book events/s ratio: {(core.events / core.wall_s) / (n / wall):.2f}x")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS           {peak_mib:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
