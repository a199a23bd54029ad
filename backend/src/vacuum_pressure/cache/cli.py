"""``warm_cache``: build the book cache (and optionally the day's seek checkpoints) ahead of a
stream, so that the first client skips the pre-warmup scan."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from ..errors import VPError
from ..interrupt import interruptible
from ..lake import lake_root
from ..spectrum import ProjectionModel
from .store import DEFAULT_MAX_CACHE_BYTES, prune_cache


def build_parser() -> argparse.ArgumentParser:
    """The warm_cache argument parser (the seed's flags plus --lake-root and --checkpoints)."""
    p = argparse.ArgumentParser(
        prog="warm_cache",
        description="Build the book cache (engine state at the warmup start) under lake/cache.",
    )
    p.add_argument("--product-type", required=True, help="future_mbo or equity_mbo")
    p.add_argument("--symbol", required=True, help="contract, e.g. MNQH6")
    p.add_argument("--dt", required=True, help="session date YYYY-MM-DD")
    p.add_argument("--start-time", required=True, help="stream start, ET HH:MM")
    p.add_argument(
        "--lake-root", type=Path, default=None, help="lake folder (default backend/lake)"
    )
    p.add_argument(
        "--checkpoints",
        action="store_true",
        help="also replay the whole day unpaced and store seek checkpoints",
    )
    p.add_argument(
        "--checkpoint-interval-s",
        type=float,
        default=60.0,
        help="market seconds between checkpoints (default 60)",
    )
    p.add_argument(
        "--checkpoint-max-gb",
        type=float,
        default=DEFAULT_MAX_CACHE_BYTES / 1e9,
        help="afterwards keep at most this many GB of checkpoints, least recently used deleted "
        f"first (default {DEFAULT_MAX_CACHE_BYTES / 1e9:.1f})",
    )
    return p


@interruptible
def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from ..config import resolve_config
    from ..serve.params import parse_stream_params
    from ..serve.session import ReplaySession, SessionOptions
    from ..source import open_replay

    root = args.lake_root.resolve() if args.lake_root else lake_root()
    try:
        params = parse_stream_params(
            {
                "product_type": args.product_type,
                "symbol": args.symbol,
                "dt": args.dt,
                "start_time": args.start_time,
                "speed": "0",
            },
            default_projection=ProjectionModel(),
        )
        config = resolve_config(params.product_type, params.symbol)
        source = open_replay(config, params.dt, root)
        options = SessionOptions(
            lake_root=root,
            checkpoint_interval_s=args.checkpoint_interval_s if args.checkpoints else 0.0,
        )
        session: ReplaySession

        def drop(item: tuple[object, ...]) -> None:
            if item[0] == "bin":
                session.release()
            elif item[0] == "error":
                raise VPError(str(item[2]))

        session = ReplaySession(config, params, source, options, drop)
        t0 = time.perf_counter()
        if args.checkpoints:
            session.run_to_end()
            prune_cache(root, max_bytes=int(args.checkpoint_max_gb * 1e9))
        else:
            session.build_book_cache()
    except VPError as exc:
        logging.getLogger("warm_cache").error("%s", exc)
        return 2
    print(f"cache ready under {root / 'cache'} in {time.perf_counter() - t0:.1f} s")
    return 0


def build_clean_parser() -> argparse.ArgumentParser:
    """Arguments of the cache cleanup command."""
    p = argparse.ArgumentParser(
        prog="vp clean-cache",
        description="Delete old book caches and checkpoints under lake/cache (always safe: "
        "whatever is missing is rebuilt or skipped).",
    )
    p.add_argument(
        "--lake-root", type=Path, default=None, help="lake folder (default backend/lake)"
    )
    p.add_argument(
        "--max-gb",
        type=float,
        default=None,
        help="keep checkpoints up to this many GB (1e9 bytes), least recently used deleted first",
    )
    p.add_argument(
        "--max-age-days", type=float, default=None, help="delete cache files older than this"
    )
    p.add_argument("--all", action="store_true", help="delete every cache file")
    return p


def clean_main(argv: Sequence[str] | None = None) -> int:
    """Cleanup entry point (``vp clean-cache``); exit code."""
    args = build_clean_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    root = args.lake_root.resolve() if args.lake_root else lake_root()
    if args.all:
        result = prune_cache(root, max_bytes=0, max_age_s=0.0)
    else:
        max_bytes = None if args.max_gb is None else int(args.max_gb * 1e9)
        max_age = None if args.max_age_days is None else args.max_age_days * 86400.0
        result = prune_cache(root, max_bytes=max_bytes, max_age_s=max_age)
    print(
        f"removed {result.removed_files} files ({result.freed_bytes / 1e6:.1f} MB); "
        f"checkpoints left: {result.kept_bytes / 1e6:.1f} MB"
    )
    return 0
