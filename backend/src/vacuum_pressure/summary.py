"""``vp replay``: replay a window of a day through the serve pipeline and print a summary."""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from pathlib import Path

import numpy as np

from .config import load_config, resolve_config
from .errors import VPError
from .pipeline.replay import serve_bins
from .timeutil import format_et, warmup_bounds_ns


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vp replay", description=__doc__)
    p.add_argument("--product-type", default=None, help="default: the locked instrument's")
    p.add_argument("--symbol", default=None, help="default: the locked instrument's")
    p.add_argument("--dt", default="2026-02-06", help="session date YYYY-MM-DD")
    p.add_argument("--start-time", default="09:00", help="ET HH:MM where bins start")
    p.add_argument("--minutes", type=float, default=5.0, help="market minutes to replay")
    p.add_argument("--lake-root", type=Path, default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    """Exit 0 on success, 2 on a bad request (the message names what was wrong)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return _replay(args)
    except VPError as exc:
        sys.stderr.write(f"vp replay: {exc}\n")
        return 2


def _replay(args: argparse.Namespace) -> int:
    if not (math.isfinite(args.minutes) and args.minutes > 0):
        raise VPError(f"--minutes {args.minutes!r} is invalid: expected a number > 0")
    locked = load_config()
    config = resolve_config(args.product_type or locked.product_type, args.symbol or locked.symbol)
    _, start_ns = warmup_bounds_ns(args.dt, args.start_time)
    end_ns = start_ns + int(args.minutes * 60e9)
    t0 = time.perf_counter()
    bins = events = 0
    states = np.zeros(3, dtype=np.int64)
    last = None
    for frame in serve_bins(config, args.dt, args.start_time, root=args.lake_root):
        if frame.header.ts_ns > end_ns:
            break
        bins += 1
        events += frame.header.bin_event_count
        states += np.bincount(frame.spectrum_state_code + 1, minlength=3)
        last = frame.header
    wall = time.perf_counter() - t0
    print(f"{config.product_type}:{config.symbol} {args.dt} from {args.start_time} ET")
    print(f"bins {bins:,}  records in bins {events:,}  wall {wall:.2f} s")
    if last is not None:
        total = max(int(states.sum()), 1)
        print(f"last bin ends {format_et(last.bin_end_ns)}; event id {last.event_id:,}")
        bid, ask = last.best_bid_price_int * 1e-9, last.best_ask_price_int * 1e-9
        spot = last.spot_ref_price_int * 1e-9
        print(f"best bid/ask {bid:.2f}/{ask:.2f}  spot {spot:.2f}  book_valid {last.book_valid}")
        print(
            "cell states: "
            f"vacuum {states[0] / total:.1%}  neutral {states[1] / total:.1%}  "
            f"pressure {states[2] / total:.1%}"
        )
    return 0
