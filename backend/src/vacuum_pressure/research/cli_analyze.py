"""``analyze_vp_signals.py``: the signal analysis over a capture, a published dataset or a
pipeline run, with JSON output and a self-contained HTML report beside it."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import replacing
from ..config import load_config
from ..errors import VPError
from ..interrupt import interruptible
from ..lake import lake_root
from ..timeutil import et_to_ns, format_et
from . import analysis, report
from .capture import MANIFEST_FILE, frames_between
from .cli_common import (
    add_projection_args,
    config_from_args,
    projection_from_args,
    setup_logging,
)
from .files import read_manifest
from .publish import dataset_paths
from .series import BinSeries, Geometry, from_frames, load_capture, load_published

logger = logging.getLogger(__name__)
MODES = ("default", "regime", "projection_experiment")


def _list(text: str, convert: Callable[[str], Any], kind: str) -> tuple[Any, ...]:
    try:
        return tuple(convert(x.strip()) for x in text.split(",") if x.strip())
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a list of {kind}: expected comma-separated {kind}"
        ) from None


def _ints(text: str) -> tuple[int, ...]:
    return _list(text, int, "integers")


def _floats(text: str) -> tuple[float, ...]:
    return _list(text, float, "numbers")


def _bools(text: str) -> tuple[bool, ...]:
    values = {"true": True, "1": True, "false": False, "0": False}
    return _list(text, lambda x: values[x.lower()], "booleans (true/false)")


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``analyze_vp_signals.py``."""
    ap = argparse.ArgumentParser(
        prog="analyze_vp_signals.py",
        description="Signal analysis: default, regime (TP/SL trades) or projection_experiment.",
    )
    ap.add_argument("--mode", choices=MODES, default="default")
    ap.add_argument("--product-type", help="future_mbo or equity_mbo (pipeline input)")
    ap.add_argument("--symbol", help="contract, e.g. MNQH6 (pipeline input)")
    ap.add_argument("--dt", help="session date YYYY-MM-DD")
    ap.add_argument("--config", type=Path, default=None, help="instrument YAML")
    ap.add_argument("--lake-root", type=Path, default=None, help="lake root")
    ap.add_argument("--start-time", help="stream start HH:MM ET (default: --eval-start's minute)")
    ap.add_argument("--eval-start", help="first bin end HH:MM[:SS] ET (included)")
    ap.add_argument("--eval-end", help="last bin end HH:MM[:SS] ET (excluded)")
    ap.add_argument("--capture-dir", type=Path, help="read a capture dir instead of replaying")
    ap.add_argument("--dataset-id", help="read a published dataset instead of replaying")
    ap.add_argument(
        "--horizons-bins",
        type=_ints,
        default=analysis.DefaultParams().horizons_bins,
        help="default mode: price horizons in bins",
    )
    d = analysis.RegimeParams()
    ap.add_argument("--directional-bands", type=_ints, default=d.directional_bands)
    ap.add_argument("--micro-windows", type=_ints, default=d.micro_windows)
    ap.add_argument(
        "--edge-threshold",
        type=float,
        default=d.edge_threshold,
        help="regime: |smoothed edge| that sets the up/down state (0.05)",
    )
    ap.add_argument("--cooldown-bins", type=int, default=d.cooldown_bins)
    ap.add_argument("--composite-threshold", type=float, default=d.composite_threshold)
    ap.add_argument("--tp-ticks", type=float, default=d.tp_ticks)
    ap.add_argument("--sl-ticks", type=float, default=d.sl_ticks)
    ap.add_argument("--max-hold-snapshots", type=int, default=d.max_hold_snapshots)
    e = analysis.ExperimentParams()
    ap.add_argument("--experiment-use-cubic-values", type=_bools, default=e.use_cubic_values)
    ap.add_argument("--experiment-cubic-scale-values", type=_floats, default=e.cubic_scale_values)
    ap.add_argument(
        "--experiment-damping-lambda-values", type=_floats, default=e.damping_lambda_values
    )
    ap.add_argument("--experiment-regime-horizon-bins", type=int, default=e.regime_horizon_bins)
    ap.add_argument("--experiment-slope-window-bins", type=int, default=e.slope_window_bins)
    ap.add_argument("--experiment-shift-z-threshold", type=float, default=e.shift_z_threshold)
    add_projection_args(ap)
    ap.add_argument("--json-output", type=Path, help="write the JSON here (+ .html report beside)")
    ap.add_argument("--verbose", action="store_true")
    return ap


def _window_ns(args: argparse.Namespace, dt: str | None) -> tuple[int | None, int | None]:
    """The eval window ``[start, end)`` in ns (None = open); refuses an empty one."""
    if (args.eval_start or args.eval_end) and not dt:
        raise VPError("--eval-start/--eval-end need --dt (or a capture manifest with dt)")
    start = et_to_ns(dt, args.eval_start, name="--eval-start") if args.eval_start and dt else None
    end = et_to_ns(dt, args.eval_end, name="--eval-end") if args.eval_end and dt else None
    if start is not None and end is not None and end <= start:
        raise VPError(
            f"--eval-end {args.eval_end} is not after --eval-start {args.eval_start}: "
            "expected an end later than the start (the window is [start, end))"
        )
    return start, end


def _in_window(
    series: BinSeries, args: argparse.Namespace, start: int | None, end: int | None
) -> BinSeries:
    """``series`` limited to ``[start, end)``; refuses a window without bins."""
    windowed = series.window(start, end)
    if windowed.n == 0:
        have = (
            f"{format_et(int(series.ts_ns[0]))} to {format_et(int(series.ts_ns[-1]))}"
            if series.n
            else "no bins"
        )
        raise VPError(
            f"no bins in the eval window (--eval-start {args.eval_start or 'unset'}, "
            f"--eval-end {args.eval_end or 'unset'}): the data has bins ending {have}"
        )
    return windowed


def input_dt(args: argparse.Namespace) -> str | None:
    """The session date: ``--dt``, else the capture's or dataset's manifest's."""
    if args.dt or not (args.capture_dir or args.dataset_id):
        return str(args.dt) if args.dt else None
    root = args.lake_root or lake_root()
    folder = args.capture_dir or dataset_paths(root, args.dataset_id).base
    dt = read_manifest(Path(folder) / MANIFEST_FILE).get("dt")
    return str(dt) if dt else None


def load_series(args: argparse.Namespace, dt: str | None) -> BinSeries:
    """The bins to analyse, from the input the arguments name, limited to the eval window
    (``dt``: the session date, ``input_dt(args)``)."""
    root = args.lake_root or lake_root()
    if args.capture_dir or args.dataset_id:
        window = _window_ns(args, dt)  # refused before any table is read
        config = load_config(args.config)
        series = (
            load_capture(args.capture_dir, config)
            if args.capture_dir
            else load_published(root, args.dataset_id, config)
        )
        return _in_window(series, args, *window)
    if not (args.product_type and args.symbol and args.dt):
        raise VPError("pipeline input needs --product-type, --symbol and --dt")
    from ..pipeline.replay import serve_bins

    config = config_from_args(args)
    start, end = _window_ns(args, args.dt)
    start_time = args.start_time or (args.eval_start or "")[:5]
    if not start_time:
        raise VPError("pipeline input needs --start-time or --eval-start")
    frames = serve_bins(
        config,
        args.dt,
        start_time,
        root=root,
        projection=projection_from_args(args),
        fix_reference_defects=args.fix_reference_defects,
    )
    try:
        return from_frames(frames_between(frames, start, end), Geometry.from_config(config))
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()


def params_from_args(
    args: argparse.Namespace,
) -> analysis.RegimeParams | analysis.ExperimentParams | analysis.DefaultParams:
    """The chosen mode's parameters. Every mode's flags are checked, before any data is read:
    a bad value is refused even when the mode would not use it."""
    regime = analysis.RegimeParams(
        tuple(args.directional_bands),
        tuple(args.micro_windows),
        args.edge_threshold,
        args.cooldown_bins,
        args.tp_ticks,
        args.sl_ticks,
        args.max_hold_snapshots,
        args.composite_threshold,
    )
    experiment = analysis.ExperimentParams(
        tuple(args.experiment_use_cubic_values),
        tuple(args.experiment_cubic_scale_values),
        tuple(args.experiment_damping_lambda_values),
        args.experiment_regime_horizon_bins,
        args.experiment_slope_window_bins,
        args.experiment_shift_z_threshold,
    )
    default = analysis.DefaultParams(tuple(args.horizons_bins))
    if args.mode == "regime":
        return regime
    if args.mode == "projection_experiment":
        return experiment
    return default


def run(
    series: BinSeries,
    params: analysis.RegimeParams | analysis.ExperimentParams | analysis.DefaultParams,
) -> dict[str, Any]:
    """The analysis of the mode ``params`` belong to."""
    if isinstance(params, analysis.RegimeParams):
        return analysis.regime(series, params)
    if isinstance(params, analysis.ExperimentParams):
        return analysis.projection_experiment(series, params)
    return analysis.default(series, params)


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float as None, so the JSON holds null, never NaN."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _bar(value: float | None) -> float:
    """A rate as a bar height (an undefined rate draws no bar)."""
    return 0.0 if value is None else value


def _horizon_chart(title: str, by_horizon: dict[str, Any], *, with_ci: bool = False) -> str:
    """Hit rate per horizon on a 0-1 axis; ``with_ci`` adds the 95% CIs and the coin-flip line."""
    rates = by_horizon.values()
    return report.bar_chart(
        title,
        list(by_horizon),
        [_bar(v["hit_rate"]) for v in rates],
        intervals=[tuple(v["ci95"]) for v in rates] if with_ci else None,
        reference=0.5 if with_ci else None,
        y_max=1.0,
    )


def _hit_rate_text(b: dict[str, Any]) -> str:
    if b["hit_rate"] is None:
        return f"no resolved trades (breakeven {b['breakeven_hit_rate']:.3f})"
    lo, hi = b["hit_rate_ci95"]
    return (
        f"{b['hit_rate']:.3f} (95% CI {lo:.3f}-{hi:.3f}, {b['hit_rate_trades']} "
        f"resolved trades; breakeven {b['breakeven_hit_rate']:.3f}: {b['verdict']})"
    )


def render_report(result: dict[str, Any], series: BinSeries) -> str:
    """The HTML report of one result."""
    hours = (series.ts_ns - series.ts_ns[0]) / 3.6e12 if series.n else np.zeros(0)
    t0 = int(series.ts_ns[0]) if series.n else 0
    figs: list[str] = []
    summary: dict[str, Any] = {
        "mode": result["mode"],
        "bins": result["n_bins"],
        "hours": round(result["hours"], 3),
    }
    if result["mode"] == "regime":
        trades = result["trades"]
        figs.append(report.price_chart(hours, series.mid_price, series.book_valid, trades, t0))
        names = ("directional", "page_composite")
        blocks = [result["trade_results"], result["page_composite"]["trade_results"]]
        for n, b in zip(names, blocks, strict=True):
            summary[f"{n} trades (TP/SL/timeout)"] = f"{b['n_tp']}/{b['n_sl']}/{b['n_timeout']}"
            summary[f"{n} hit rate"] = _hit_rate_text(b)
        figs.append(
            report.bar_chart(
                "Hit rate (TP before SL, resolved trades) with 95% CI",
                list(names),
                [_bar(b["hit_rate"]) for b in blocks],
                intervals=[tuple(b["hit_rate_ci95"]) for b in blocks],
                reference=blocks[0]["breakeven_hit_rate"],
                y_max=1.0,
            )
        )
        labels, values, colours = [], [], []
        for n, b in zip(names, blocks, strict=True):
            for key, colour in report.OUTCOME_COLOURS.items():
                labels.append(f"{n[:4]} {key}")
                values.append(float(b[f"n_{key}"]))
                colours.append(colour)
        figs.append(report.bar_chart("TP/SL outcome distribution", labels, values, colours=colours))
    elif result["mode"] == "default":
        figs.append(report.price_chart(hours, series.mid_price, series.book_valid, [], t0))
        ref = result["summary"]
        summary["directional_edge (reference)"] = f"{ref['directional_edge']:+.6f}"
        centre_rate = ref["center_sign_hit_rate"]
        summary["center_sign_hit_rate (reference)"] = (
            "no pairs" if centre_rate is None else f"{centre_rate:.4f}"
        )
        figs.append(
            report.bar_chart(
                "Reference projection hit rate per horizon (ms)",
                list(ref["projection"]),
                [_bar(v["hit_rate"]) for v in ref["projection"].values()],
                reference=0.5,
                y_max=1.0,
            )
        )
        edge = result["net_pv_edge"]["hit_rate_by_horizon"]
        centre = result["centre_score_hit_rate_by_horizon"]
        figs.append(_horizon_chart("Net P/V edge: hit rate per horizon (bins)", edge, with_ci=True))
        figs.append(
            _horizon_chart(
                "Centre-row score sign: hit rate per horizon (bins)", centre, with_ci=True
            )
        )
        figs.append(
            _horizon_chart(
                "Projection hit rate per cell and horizon (bins)",
                result["projection_cell_hit_rate_by_horizon"],
            )
        )
    else:
        runs = result["runs"]
        figs.append(report.price_chart(hours, series.mid_price, series.book_valid, [], t0))
        figs.append(
            report.bar_chart(
                "Runs ranked by mean projection hit rate",
                [f"#{r['rank']}" for r in runs],
                [_bar(r["mean_hit_rate"]) for r in runs],
                y_max=1.0,
            )
        )
        if runs:
            best = runs[0]
            mean = best["mean_hit_rate"]
            summary["best run"] = (
                f"cubic={best['use_cubic']} scale={best['cubic_scale']:.4g} "
                f"lambda={best['damping_lambda']:.4g}: mean hit "
                + ("n/a (no trials)" if mean is None else f"{mean:.3f}")
            )
            figs.append(
                _horizon_chart("Best run: hit rate per horizon (bins)", best["hit_rate_by_horizon"])
            )
    return report.write_html(f"Vacuum-pressure analysis: {result['mode']}", summary, figs)


@interruptible
def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 on success, 2 on a bad request."""
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    logging.getLogger("vacuum_pressure.engine").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    try:
        params = params_from_args(args)
        dt = input_dt(args)
        series = load_series(args, dt)
        t1 = time.perf_counter()
        result = run(series, params)
    except VPError as exc:
        logger.error("%s", exc)
        return 2
    t2 = time.perf_counter()
    result = {
        "mode": result.pop("mode"),
        "dt": dt,
        "start_time": args.start_time,
        "eval_start": args.eval_start,
        "eval_end": args.eval_end,
        **result,
        "timing_seconds": {"load": t1 - t0, "analysis": t2 - t1},
    }
    result = json_safe(result)
    text = json.dumps(result, indent=2, allow_nan=False)
    if args.json_output:
        out = Path(args.json_output)
        out.parent.mkdir(parents=True, exist_ok=True)
        with replacing(out) as fh:
            fh.write(text + "\n")
        with replacing(out.with_suffix(".html")) as fh:
            fh.write(render_report(result, series))
        logger.info("wrote %s and %s", out, out.with_suffix(".html"))
        brief = {k: v for k, v in result.items() if k not in ("runs", "trades")}
        if "page_composite" in brief:
            brief["page_composite"] = brief["page_composite"]["trade_results"]
        sys.stdout.write(json.dumps(brief, indent=2, allow_nan=False) + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0
