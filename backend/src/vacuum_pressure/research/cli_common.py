"""Arguments shared by the research command lines (instrument, lake, projection model)."""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

from ..config import InstrumentConfig, load_config
from ..errors import VPError
from ..spectrum import ProjectionModel

_ID_RE = re.compile(r"[a-z0-9_]{1,64}\Z")  # \Z: $ would accept a final newline


def add_instrument_args(ap: argparse.ArgumentParser) -> None:
    """``--product-type --symbol --dt`` plus ``--config`` and ``--lake-root``."""
    ap.add_argument("--product-type", required=True, help="future_mbo or equity_mbo")
    ap.add_argument("--symbol", required=True, help="contract or ticker, e.g. MNQH6")
    ap.add_argument("--dt", required=True, help="session date YYYY-MM-DD")
    ap.add_argument(
        "--config",
        type=Path,
        default=None,
        help="instrument YAML (default: VP_INSTRUMENT_CONFIG_PATH or the packaged config)",
    )
    ap.add_argument("--lake-root", type=Path, default=None, help="lake root (default: the lake)")


def add_projection_args(ap: argparse.ArgumentParser) -> None:
    """The projection model overrides of the serve path."""
    ap.add_argument("--projection-use-cubic", action="store_true", help="add the cubic term")
    ap.add_argument(
        "--projection-cubic-scale", type=float, default=1.0 / 6.0, help="cubic weight (1/6)"
    )
    ap.add_argument(
        "--projection-damping-lambda", type=float, default=0.0, help="damping per second (0)"
    )
    ap.add_argument(
        "--fix-reference-defects",
        action="store_true",
        help="apply the fixes of the reference's known defects (breaks parity)",
    )


def config_from_args(args: argparse.Namespace) -> InstrumentConfig:
    """Load the locked config and check it serves the requested product and symbol."""
    config = load_config(args.config)
    config.check_instrument(args.product_type, args.symbol)
    return config


def projection_from_args(args: argparse.Namespace) -> ProjectionModel:
    """The projection model the flags ask for (``ProjectionModel`` checks its numbers)."""
    return ProjectionModel(
        use_cubic=bool(args.projection_use_cubic),
        cubic_scale=float(args.projection_cubic_scale),
        damping_lambda=float(args.projection_damping_lambda),
    )


def check_name(kind: str, value: str) -> str:
    """A dataset id or agent name: lower-case letters, digits and ``_``, 1-64 characters."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise VPError(f"{kind} {value!r} is invalid: expected 1-64 characters from a-z, 0-9 and _")
    return value


def setup_logging(verbose: bool = False) -> None:
    """Log to stderr (progress and diagnostics; reports go to stdout)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
