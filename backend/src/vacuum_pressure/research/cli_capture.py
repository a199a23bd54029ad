"""``cache_vp_output.py``: capture the serve-path output of an ET window to Parquet."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ..errors import VPError
from ..interrupt import interruptible
from ..lake import lake_root
from .capture import capture
from .cli_common import (
    add_instrument_args,
    add_projection_args,
    config_from_args,
    projection_from_args,
    setup_logging,
)

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``cache_vp_output.py``."""
    ap = argparse.ArgumentParser(
        prog="cache_vp_output.py",
        description=(
            "Capture the serve-path output (bins.parquet, buckets.parquet, manifest.json) for the "
            "ET window [--capture-start-et, --capture-end-et). The start must be on a minute."
        ),
    )
    add_instrument_args(ap)
    ap.add_argument("--capture-start-et", required=True, help="window start HH:MM[:00] ET")
    ap.add_argument("--capture-end-et", required=True, help="window end HH:MM[:SS] ET (excluded)")
    ap.add_argument("--output-dir", required=True, type=Path, help="capture directory to create")
    ap.add_argument("--force", action="store_true", help="replace an existing output dir")
    add_projection_args(ap)
    ap.add_argument("--verbose", action="store_true", help="debug logging")
    return ap


@interruptible
def main(argv: Sequence[str] | None = None) -> int:
    """Run a capture; prints the manifest summary on success. Exit 0 ok, 2 on a bad request."""
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    # Out-of-range prices are counted by the engine; per-order warnings would flood long runs.
    logging.getLogger("vacuum_pressure.engine").setLevel(logging.ERROR)
    try:
        config = config_from_args(args)
        result = capture(
            config,
            args.dt,
            args.capture_start_et,
            args.capture_end_et,
            args.output_dir,
            root=args.lake_root or lake_root(),
            projection=projection_from_args(args),
            fix_reference_defects=args.fix_reference_defects,
            force=args.force,
        )
    except VPError as exc:
        logger.error("%s", exc)
        return 2
    span_s = (result.manifest["capture_end_ns"] - result.manifest["capture_start_ns"]) / 1e9
    summary = {
        "output_dir": str(result.output_dir),
        "bins": result.bins,
        "buckets": result.buckets,
        "elapsed_seconds": round(result.elapsed_seconds, 3),
        "speed_x_real_time": round(span_s / result.elapsed_seconds, 1),
    }
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    return 0
