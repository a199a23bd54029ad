"""Analysis metrics on hand-built inputs with exact expected values."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from research_fakes import (
    BIN_NS,
    HORIZONS_MS,
    TICK_INT,
    make_frame,
    write_fake_capture,
)

from testdata import golden_lake
from vacuum_pressure.research import analysis
from vacuum_pressure.research import analysis_kernel as ak
from vacuum_pressure.research.capture import capture_window
from vacuum_pressure.research.cli_analyze import main as analyze_main
from vacuum_pressure.research.publish import publish
from vacuum_pressure.research.series import Geometry, from_frames, load_capture, load_published

GEO = Geometry(100, 0.25, TICK_INT, (1, 2, 3, 4), HORIZONS_MS)
START = capture_window("2026-02-06", "09:30:00", "10:30:00").start_ns


def _series(mids, valid=None, **kw):
    valid = valid if valid is not None else [True] * len(mids)
    frames = [
        make_frame(i, START + i * BIN_NS, mid=m, book_valid=v, **kw)
        for i, (m, v) in enumerate(zip(mids, valid, strict=True))
    ]
    return from_frames(frames, GEO)


def test_threshold_signals_respect_threshold_cooldown_and_book() -> None:
    score = np.array([0.9, 0.1, 0.7, -0.8, -0.8, 0.2, -0.65, 0.6, 0.6, 0.59])
    valid = np.array([True] * 10)
    valid[6] = False
    idx, d = ak.threshold_signals(score, valid, 0.6, 2, 1)
    # bin 0 is before `first`; 2 fires; 3,4 cool down; 6 has no book; 7 fires; 8,9 cool down
    assert idx.tolist() == [2, 7]
    assert d.tolist() == [1, 1]
    idx, d = ak.threshold_signals(score, np.ones(10, bool), 0.6, 0, 0)
    assert idx.tolist() == [0, 2, 3, 4, 6, 7, 8]
    assert d.tolist() == [1, 1, -1, -1, -1, 1, 1]


def test_trades_tp_sl_timeout_and_invalid_bins() -> None:
    # ticks of 0.25: 100 -> +8 ticks = 102.0, -4 ticks = 99.0
    mid = np.array([100.0, 100.5, 0.0, 102.0, 99.0, 100.25, 100.5, 98.9, 100.0, 100.75])
    valid = np.array([True, True, False, True, True, True, True, True, True, True])
    entries = np.array([0, 1, 4, 5, 7])
    dirs = np.array([1, -1, 1, 1, 1])
    out, ex, pnl = ak.evaluate_trades(mid, valid, entries, dirs, 8.0, 4.0, 3, 0.25)
    # 0 up: bin 2 invalid (mid 0 ignored), bin 3 = +8 -> TP
    # 1 down: bin 3 is -6 ticks for a short -> SL at bin 3
    # 4 up from 99: bins 5..7 reach +6 at most, 98.9 is -0.4 ticks -> timeout at bin 7
    # 5 up from 100.25: bin 7 is -5.4 ticks -> SL
    # 7 up from 98.9: only bins 8, 9 remain (+4.4, +7.4) -> timeout at the data's end
    assert out.tolist() == [1, -1, 0, -1, 0]
    assert ex.tolist() == [3, 3, 7, 7, 9]
    np.testing.assert_allclose(pnl, [8.0, -6.0, -0.4, -5.4, 7.4])


def test_trade_results_rates_breakeven_and_ci() -> None:
    mids = [100.0, 102.0, 100.0, 99.0, 100.0, 100.0, 100.0, 102.0]
    s = _series(mids)
    res = analysis.trade_results(s, np.array([0, 2, 4]), np.array([1, 1, -1]), 8, 4, 10)
    assert [t["outcome"] for t in res["trades"]] == ["tp", "sl", "sl"]
    assert res["n_signals"] == 3 and res["n_up"] == 2 and res["n_down"] == 1
    assert res["tp_before_sl_rate"] == pytest.approx(1 / 3)
    assert res["sl_before_tp_rate"] == pytest.approx(2 / 3)
    assert res["timeout_rate"] == 0.0
    assert res["breakeven_hit_rate"] == pytest.approx(1 / 3)
    assert res["median_time_to_outcome_ms"] == 100.0
    assert res["mean_pnl_ticks"] == pytest.approx((8 - 4 - 8) / 3)
    lo, hi = analysis.wilson_interval(1, 3)
    assert res["hit_rate_ci95"] == [lo, hi]
    assert res["verdict"] == "includes breakeven"
    # 8 bins of 100 ms = 0.8 s -> 3 signals per 0.8 s
    assert res["events_per_hour"] == pytest.approx(3 / (0.8 / 3600))
    assert res["trades"][0]["time_to_outcome_ms"] == 100.0


def test_wilson_interval_known_values() -> None:
    lo, hi = analysis.wilson_interval(50, 100)
    assert lo == pytest.approx(0.40383153, abs=1e-8)
    assert hi == pytest.approx(0.59616847, abs=1e-8)
    assert analysis.wilson_interval(0, 0) == (0.0, 1.0)


def test_band_ranges_and_directional_edge() -> None:
    np.testing.assert_array_equal(analysis.band_ranges((4, 8, 16)), [[1, 4], [5, 8], [9, 16]])
    with pytest.raises(Exception, match="increasing"):
        analysis.band_ranges((4, 4))
    # radius 3, bands |k| 1..1 and 2..3: pressure below, vacuum above -> bullish
    p = [0, 0, 4, 0, 0, 0, 0]  # k=-1 only
    v = [0, 0, 0, 0, 2, 6, 6]  # k=1, 2, 3
    s = _series([100.0], pressure=p, vacuum=v)
    edge = analysis.directional_edge(s, (1, 3))
    w = np.array([1.0, 1 / math.sqrt(2)])
    w /= w.sum()
    # band 1: P_below 4 + V_above 2 = 6; band 2: V_above mean 6 = 6
    assert edge[0] == pytest.approx(w[0] * 6 + w[1] * 6)


def test_regime_score_multi_scale() -> None:
    edge = np.array([1.0, 1.0, -1.0, 1.0, 1.0])
    score = analysis.regime_score(edge, (2, 4))
    assert np.isnan(score[:3]).all()
    # t=3: window 2 -> (−1+1)/2 / 1 = 0; window 4 -> 2/4 / 1 = 0.5 -> mean 0.25
    assert score[3] == pytest.approx(0.25)
    # t=4: window 2 -> 1; window 4 -> (1-1+1+1)/4 = 0.5 -> 0.75
    assert score[4] == pytest.approx(0.75)


def test_project_scores_and_hits() -> None:
    score = np.zeros((5, 3))
    score[:, 1] = [0.0, 0.1, 0.2, 0.3, 0.4]  # linear at a fixed absolute tick
    spot = np.zeros(5, np.int64)
    valid = np.ones(5, bool)
    proj = ak.project_scores(
        score, spot, valid, np.array([0.1, 0.2]), 0.1, False, 1 / 6, np.ones(2)
    )
    assert np.isnan(proj[:, :3]).all()
    # slope 1/s, no curvature: s + s1*h
    assert proj[0, 3, 1] == pytest.approx(0.4)
    assert proj[1, 4, 1] == pytest.approx(0.6)
    # spot moves up one tick at t=4: row 0 at t=4 is the absolute tick of row 1 before
    spot2 = np.array([0, 0, 0, 0, 1])
    sc2 = score.copy()
    sc2[4] = [0.4, 0.0, 0.0]
    proj2 = ak.project_scores(sc2, spot2, valid, np.array([0.1]), 0.1, False, 0.0, np.ones(1))
    assert proj2[0, 4, 0] == pytest.approx(0.5)
    assert np.isnan(proj2[0, 4, 2])  # its history left the window
    hits, trials, err = ak.projection_hits(proj[0], score, spot, 1, 0.15)
    # t=3 proj 0.4 vs score 0.4 at t=4 -> one hit; t=4 has no future
    assert (hits, trials) == (1, 1) and err == pytest.approx(0.0)


def test_shift_metrics_on_a_step() -> None:
    n = 400
    mids = [100.0 + (0.25 * (i - 300) if i >= 300 else 0.0) for i in range(n)]
    s = _series(mids)
    directional = np.where(np.arange(n) >= 300, 1.0, 0.0) + 1e-3 * np.sin(np.arange(n))
    params = analysis.ExperimentParams(regime_horizon_bins=4, slope_window_bins=10)
    m = analysis.shift_metrics(s, directional, params)
    assert m["n_shifts"] >= 1
    # the first shift is at the step and points up; the mid rises 4 ticks in 4 bins
    assert m["shift_hit_rate"] == 1.0
    assert m["mean_forward_ticks"] > 0


@pytest.fixture
def capture_dir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    mids = 100.0 + 0.25 * np.cumsum(rng.integers(-1, 2, 400))
    frames = [
        make_frame(
            i,
            START + i * BIN_NS,
            radius=12,
            mid=float(m),
            score=np.clip(rng.normal(0, 0.5, 25), -1, 1),
            pressure=rng.random(25),
            vacuum=rng.random(25),
        )
        for i, m in enumerate(mids)
    ]
    return write_fake_capture(tmp_path / "cap", frames)


@pytest.mark.parametrize("mode", ["default", "regime", "projection_experiment"])
def test_cli_modes_write_json_and_html(capture_dir: Path, tmp_path: Path, mode: str) -> None:
    out = tmp_path / f"{mode}.json"
    argv = ["--mode", mode, "--capture-dir", str(capture_dir), "--json-output", str(out)]
    argv += ["--micro-windows", "5,10", "--signal-threshold", "0.3", "--max-hold-snapshots", "50"]
    assert analyze_main(argv) == 0
    result = json.loads(out.read_text())
    assert result["mode"] == mode and result["n_bins"] == 400
    page = out.with_suffix(".html").read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    if mode == "regime":
        for key in ("directional", "page_composite"):
            block = result[key]
            fields = ["n_signals", "n_up", "n_down", "tp_before_sl_rate", "sl_before_tp_rate",
                      "timeout_rate", "events_per_hour", "median_time_to_outcome_ms",
                      "mean_pnl_ticks", "trades", "breakeven_hit_rate",
                      "hit_rate_ci95"]  # fmt: skip
            assert set(fields) <= set(block)
            assert block["breakeven_hit_rate"] == pytest.approx(1 / 3)
    if mode == "projection_experiment":
        assert len(result["runs"]) == 4 + 3 * 4
        assert [r["rank"] for r in result["runs"]] == list(range(1, 17))


def test_capture_and_published_dataset_give_the_same_numbers(
    capture_dir: Path, tmp_path: Path
) -> None:
    a = load_capture(capture_dir)
    publish(capture_dir, "same_numbers", [], tmp_path / "lake")
    b = load_published(tmp_path / "lake", "same_numbers")
    params = analysis.RegimeParams(micro_windows=(5, 10), signal_threshold=0.3)
    ra, rb = analysis.regime(a, params), analysis.regime(b, params)
    ra.pop("series"), rb.pop("series")
    assert ra == rb


def test_pipeline_and_capture_give_the_same_numbers(tmp_path: Path) -> None:
    """The golden reference capture vs the pipeline replaying the real file over the same window."""
    ref = golden_lake(tmp_path)
    common = ["--mode", "regime", "--config", str(ref / "instrument.esh4.yaml"),
              "--micro-windows", "25,50", "--signal-threshold", "0.5",
              "--eval-start", "18:01", "--eval-end", "18:04"]  # fmt: skip
    out_a, out_b = tmp_path / "a.json", tmp_path / "b.json"
    assert analyze_main([*common, "--capture-dir", str(ref), "--dt", "2023-12-25",
                         "--json-output", str(out_a)]) == 0  # fmt: skip
    pipeline = ["--product-type", "future_mbo", "--symbol", "ESH4", "--dt", "2023-12-25",
                "--start-time", "18:00", "--lake-root", str(tmp_path)]  # fmt: skip
    assert analyze_main([*common, *pipeline, "--json-output", str(out_b)]) == 0
    ra, rb = json.loads(out_a.read_text()), json.loads(out_b.read_text())
    ra.pop("timing_seconds"), rb.pop("timing_seconds")
    assert ra["n_bins"] == 1800
    assert ra == rb
