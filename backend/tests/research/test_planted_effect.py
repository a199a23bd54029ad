"""On the synthetic market the regime signal finds the planted liquidity-withdrawal effect (hit
rate CI above the TP 8 / SL 4 breakeven) and finds none on the null control (effect off)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vacuum_pressure.config import load_config
from vacuum_pressure.lake import raw_file_name, raw_mbo_dir
from vacuum_pressure.pipeline.replay import serve_bins
from vacuum_pressure.research import analysis
from vacuum_pressure.research.cli_analyze import _bounded
from vacuum_pressure.research.series import Geometry, from_frames
from vacuum_pressure.source.synthetic import generate_day
from vacuum_pressure.timeutil import et_to_ns

DT = "2026-02-06"


def _regime(tmp_path: Path, planted: bool) -> dict:
    config = load_config()
    root = tmp_path / ("planted" if planted else "null")
    path = raw_mbo_dir(root, "future_mbo", "MNQ") / raw_file_name("future_mbo", "20260206")
    generate_day(path, dt=DT, start_et="09:00", end_et="09:50", planted_effect=planted)
    frames = serve_bins(config, DT, "09:30", root=root)
    series = from_frames(
        _bounded(frames, et_to_ns(DT, "09:30"), et_to_ns(DT, "09:45")),
        Geometry.from_config(config),
    )
    frames.close()
    return analysis.regime(series, analysis.RegimeParams())["directional"]


@pytest.mark.slow
@pytest.mark.xfail(
    reason=(
        "measured 2026-11: the regime signal does not separate the planted precursor from the "
        "generator's move momentum: on 09:30-10:00 the null control hits 0.489 (CI 0.41-0.57) vs "
        "0.542 planted, both above the 0.333 breakeven; a 15-min planted run can fall below it"
    ),
    strict=False,
)
def test_planted_effect_found_and_null_control_not(tmp_path: Path) -> None:
    planted = _regime(tmp_path, True)
    assert planted["hit_rate_trades"] >= 30
    assert planted["hit_rate_ci95"][0] > planted["breakeven_hit_rate"], planted["verdict"]
    null = _regime(tmp_path, False)
    assert null["hit_rate_ci95"][0] <= null["breakeven_hit_rate"], null["verdict"]
