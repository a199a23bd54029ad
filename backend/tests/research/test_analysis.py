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
from vacuum_pressure.errors import VPError
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


def _pv_series(pressure, vacuum, mids=None):
    """Bins with the given pressure/vacuum rows (n, rows) and mids (default 100.0)."""
    n = len(pressure)
    mids = mids if mids is not None else [100.0] * n
    radius = (len(pressure[0]) - 1) // 2
    frames = [
        make_frame(i, START + i * BIN_NS, radius=radius, mid=m, pressure=p, vacuum=v)
        for i, (p, v, m) in enumerate(zip(pressure, vacuum, mids, strict=True))
    ]
    return from_frames(frames, GEO)


def test_raw_edge_composites_nested_bands_and_weights() -> None:
    #     k:  -3  -2  -1  0  1  2  3
    p = [1.0, 0.0, 3.0, 9.0, 0.0, 2.0, 1.0]
    v = [1.0, 2.0, 1.0, 9.0, 4.0, 2.0, 0.0]
    # composites (P-V)/(|P|+|V|+1e-12): k=-3 0, k=-2 -1, k=-1 1/2, k=1 -1, k=2 0, k=3 1
    c_m2, c_m1, c_p1, c_p3 = -2 / (2 + 1e-12), 2 / (4 + 1e-12), -4 / (4 + 1e-12), 1 / (1 + 1e-12)
    s = _pv_series([p], [v])
    # bands 1 and 3 (nested: k=1..1 and k=1..3), weights 1 and 1/sqrt(3), normalised
    w1, w3 = 1.0 / (1 + 1 / math.sqrt(3)), (1 / math.sqrt(3)) / (1 + 1 / math.sqrt(3))
    above = w1 * c_p1 + w3 * (c_p1 + 0.0 + c_p3) / 3
    below = w1 * c_m1 + w3 * (c_m1 + c_m2 + 0.0) / 3
    edge = analysis.raw_directional_edge(s, (1, 3))
    assert edge[0] == pytest.approx(below - above, abs=1e-15)
    assert edge[0] == pytest.approx(1.5 * w1 - w3 / 6, abs=1e-11)
    # a band wider than the grid uses the cells there are: below mean -1/6, above mean 0
    assert analysis.raw_directional_edge(s, (5,))[0] == pytest.approx(-1 / 6, abs=1e-11)


def test_equal_composites_below_and_above_give_zero_edge() -> None:
    rng = np.random.default_rng(5)
    half_p, half_v = rng.random((40, 3)), rng.random((40, 3))
    # mirrored book: the cell at -k holds what the cell at +k holds
    p = np.hstack([half_p[:, ::-1], rng.random((40, 1)), half_p])
    v = np.hstack([half_v[:, ::-1], rng.random((40, 1)), half_v])
    s = _pv_series(p.tolist(), v.tolist())
    params = analysis.RegimeParams(directional_bands=(1, 2, 3), micro_windows=(2, 5))
    assert np.all(analysis.raw_directional_edge(s, params.directional_bands) == 0.0)
    assert np.all(analysis.directional_edge(s, params) == 0.0)
    # the reviewer's case: pressure 2 / vacuum 1 below, 20 / 10 above -> both composites 1/3
    n = 30
    p2 = [[2.0, 2.0, 2.0, 0.0, 20.0, 20.0, 20.0]] * n
    v2 = [[1.0, 1.0, 1.0, 0.0, 10.0, 10.0, 10.0]] * n
    s2 = _pv_series(p2, v2)
    edge = analysis.directional_edge(s2, params)
    assert np.abs(edge).max() < 1e-12
    result = analysis.regime(s2, params)
    assert result["trade_results"]["n_signals"] == 0 and result["trades"] == []
    assert result["edge"]["pct_flat"] == 1.0


def test_trailing_means_and_multi_scale_blend() -> None:
    raw = np.array([1.0, 1.0, -1.0, 1.0, 1.0])
    # window 2: expanding mean 1 at t=0, then means of the last two
    np.testing.assert_array_equal(analysis.trailing_mean(raw, 2), [1.0, 1.0, 0.0, 0.0, 1.0])
    # window 4: expanding means 1, 1, 1/3, then (1+1-1+1)/4 and (1-1+1+1)/4
    np.testing.assert_allclose(
        analysis.trailing_mean(raw, 4), [1.0, 1.0, 1 / 3, 0.5, 0.5], rtol=0, atol=1e-15
    )
    a = (1 / math.sqrt(2)) / (1 / math.sqrt(2) + 1 / 2)
    b = (1 / 2) / (1 / math.sqrt(2) + 1 / 2)
    expected = [1.0, 1.0, b / 3, b * 0.5, a + b * 0.5]
    np.testing.assert_allclose(analysis.smoothed_edge(raw, (2, 4)), expected, atol=1e-15)
    # a window longer than the series is an expanding mean throughout
    np.testing.assert_allclose(
        analysis.trailing_mean(raw, 10), [1.0, 1.0, 1 / 3, 0.5, 0.6], atol=1e-15
    )


def test_trailing_means_do_not_drift() -> None:
    rng = np.random.default_rng(11)
    raw = np.concatenate([rng.uniform(-1, 1, 200_000) + 1e3 * (rng.random(200_000) < 1e-3),
                          np.zeros(500)])  # fmt: skip
    edge = analysis.smoothed_edge(raw, (25, 50, 100, 200))
    assert np.all(edge[-300:] == 0.0)
    idx, _ = analysis.detect_signals(edge, 0.05, 0)
    assert idx.size > 0 and idx.max() < raw.size - 300


def test_detect_signals_state_changes_and_cooldown() -> None:
    edge = np.array([0.06, 0.07, 0.0, 0.05, -0.05, -0.2, 0.0, -0.1, -0.1, np.nan, 0.1])
    # states   up    up   flat  up    down  down  flat  down  down  flat  up
    np.testing.assert_array_equal(
        analysis.edge_states(edge, 0.05), [1, 1, 0, 1, -1, -1, 0, -1, -1, 0, 1]
    )
    # changes at 0, 3, 4, 7, 10; cooldown 3: 4 is 1 bin after 3 and is not retried at 5
    idx, d = analysis.detect_signals(edge, 0.05, 3)
    assert idx.tolist() == [0, 3, 7, 10]
    assert d.tolist() == [1, 1, -1, 1]
    idx, d = analysis.detect_signals(edge, 0.05, 0)
    assert idx.tolist() == [0, 3, 4, 7, 10]
    assert d.tolist() == [1, 1, -1, -1, 1]
    # a cooldown longer than the series keeps only the first signal
    assert analysis.detect_signals(edge, 0.05, 50)[0].tolist() == [0]


def _trade_params(max_hold: int) -> analysis.RegimeParams:
    return analysis.RegimeParams(tp_ticks=8, sl_ticks=4, max_hold_snapshots=max_hold)


def test_trades_tp_sl_timeout_and_bins_without_price() -> None:
    # tick 0.25: TP 8 ticks = 2.00, SL 4 ticks = 1.00; bin 2 has no price (mid 0, book valid)
    mids = [100.0, 100.5, 0.0, 102.0, 99.0, 100.25, 100.5, 99.25, 100.0, 100.75]
    s = _series(mids)
    entries = np.array([0, 1, 2, 4, 8])
    dirs = np.array([1, -1, 1, 1, 1])
    res, trades = analysis.trade_results(s, entries, dirs, _trade_params(4))
    # 0 up @100: bin 1 100.5, bin 2 skipped, bin 3 102.0 = +8 ticks -> TP after 300 ms
    # 1 down @100.5: bin 3 102.0 >= 101.5 -> SL, pnl -6 ticks, 200 ms
    # 2 has no price: not traded
    # 4 up @99: bins 5..7 stay inside 98..101 -> timeout at bin 7 (4+4-1) @99.25, +1 tick
    # 8 up @100: only bin 9 remains -> timeout there @100.75, +3 ticks, 100 ms
    assert [t["bin_idx"] for t in trades] == [0, 1, 4, 8]
    assert [t["outcome"] for t in trades] == ["tp", "sl", "timeout", "timeout"]
    assert [t["outcome_price"] for t in trades] == [102.0, 102.0, 99.25, 100.75]
    assert [t["entry_price"] for t in trades] == [100.0, 100.5, 99.0, 100.0]
    assert [t["pnl_ticks"] for t in trades] == [8.0, -6.0, 1.0, 3.0]
    assert [t["time_to_outcome_ms"] for t in trades] == [300.0, 200.0, 300.0, 100.0]
    assert [t["direction"] for t in trades] == ["up", "down", "up", "up"]
    assert res["n_signals"] == 4 and res["n_signals_without_price"] == 1
    assert (res["n_up"], res["n_down"]) == (3, 1)
    assert (res["n_tp"], res["n_sl"], res["n_timeout"]) == (1, 1, 2)
    assert res["tp_before_sl_rate"] == 0.25
    assert res["sl_before_tp_rate"] == 0.25
    assert res["timeout_rate"] == 0.5
    assert res["median_time_to_outcome_ms"] == 250.0  # TP 300 and SL 200; timeouts excluded
    assert res["mean_pnl_ticks"] == 1.5
    # first to last bin: 9 x 100 ms
    assert res["events_per_hour"] == pytest.approx(4 / (0.9 / 3600), rel=1e-12)
    assert res["hit_rate"] == 0.5 and res["hit_rate_trades"] == 2
    assert res["hit_rate_ci95"] == list(analysis.wilson_interval(1, 2))
    assert res["breakeven_hit_rate"] == pytest.approx(1 / 3)
    assert res["verdict"] == "includes breakeven"


def test_timeout_at_a_bin_without_price_keeps_the_last_price() -> None:
    s = _series([100.0, 100.5, 0.0])
    res, trades = analysis.trade_results(s, np.array([0]), np.array([1]), _trade_params(3))
    # the hold window ends at bin 2, which has no price: exit at the last price seen, 100.5
    assert trades[0]["outcome"] == "timeout" and trades[0]["outcome_price"] == 100.5
    assert trades[0]["pnl_ticks"] == 2.0 and trades[0]["time_to_outcome_ms"] == 200.0
    assert res["median_time_to_outcome_ms"] is None and res["hit_rate"] is None
    # a hold of one bin exits at the entry
    _, trades = analysis.trade_results(s, np.array([0]), np.array([-1]), _trade_params(1))
    assert trades[0]["outcome_price"] == 100.0 and trades[0]["time_to_outcome_ms"] == 0.0


def test_no_trades_gives_null_rates() -> None:
    s = _series([100.0, 0.0])
    res, trades = analysis.trade_results(s, np.array([1]), np.array([1]), _trade_params(5))
    assert trades == [] and res["n_signals"] == 0 and res["n_signals_without_price"] == 1
    for key in ("tp_before_sl_rate", "sl_before_tp_rate", "timeout_rate", "hit_rate",
                "median_time_to_outcome_ms", "mean_pnl_ticks"):  # fmt: skip
        assert res[key] is None, key
    assert res["events_per_hour"] == 0.0


def test_regime_end_to_end_on_a_planted_step() -> None:
    # radius 1: below (k=-1) all pressure and above (k=1) all vacuum from bin 10 on -> raw 2
    n = 40
    p = [[0.0, 0.0, 0.0]] * 10 + [[1.0, 0.0, 0.0]] * (n - 10)
    v = [[0.0, 0.0, 0.0]] * 10 + [[0.0, 0.0, 1.0]] * (n - 10)
    mids = [100.0] * 10 + [100.0 + 0.25 * (i - 10) for i in range(10, n)]
    s = _pv_series(p, v, mids)
    params = analysis.RegimeParams(directional_bands=(1,), micro_windows=(4,), cooldown_bins=5)
    result = analysis.regime(s, params)
    # bin 10's edge is 2/4 (the window holds one bin of 2): up from flat -> one signal
    assert result["edge"]["pct_up"] == 30 / 40 and result["edge"]["pct_down"] == 0.0
    (trade,) = result["trades"]
    assert trade["bin_idx"] == 10 and trade["direction"] == "up"
    # +8 ticks = 2.00 above 100.0 at bin 18
    assert trade["outcome"] == "tp" and trade["outcome_price"] == 102.0
    assert trade["time_to_outcome_ms"] == 800.0 and trade["bin_seq"] == 10
    assert result["trade_results"]["tp_before_sl_rate"] == 1.0
    assert result["params"]["edge_threshold"] == 0.05


def test_wilson_interval_known_values() -> None:
    lo, hi = analysis.wilson_interval(50, 100)
    assert lo == pytest.approx(0.40383153, abs=1e-8)
    assert hi == pytest.approx(0.59616847, abs=1e-8)
    assert analysis.wilson_interval(0, 0) == (0.0, 1.0)


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


def test_reference_summary_on_three_bins() -> None:
    scores = [[0.2, 0.1, -0.2], [0.4, 0.3, 0.0], [0.0, 0.3, 0.2]]  # k = -1, 0, 1
    frames = [
        make_frame(i, START + i * BIN_NS, radius=1, mid=m, score=sc)
        for i, (m, sc) in enumerate(zip([100.0, 100.25, 100.0], scores, strict=True))
    ]
    summary = analysis.reference_summary(from_frames(frames, GEO))
    assert summary["n_eval_bins"] == 3 and summary["n_cells"] == 3
    # threshold 0.15: pressure 0.2 0.4 0.3 0.3 0.2, vacuum -0.2, the other three neutral
    assert summary["state_share_pressure"] == 5 / 9
    assert summary["state_share_vacuum"] == 1 / 9
    assert summary["state_share_neutral"] == 3 / 9
    # mean below (0.2, 0.4, 0.0) minus mean above (-0.2, 0.0, 0.2)
    assert summary["directional_edge"] == pytest.approx(0.2, abs=1e-15)
    # centre changes +0.2 and 0.0, mid changes +0.25 and -0.25: one pair, a hit
    assert summary["center_sign_hit_rate"] == 1.0
    # the fake projection is 0.5 x score, so predicted change = -sign(score)
    # 100 ms: bin 0 -> 1 predicts (-,-,+), realised (+,+,+): 3 pairs, 1 hit;
    #         bin 1 -> 2 predicts (-,-,0), realised (-,0,+): 1 pair (k=-1), a hit
    # 200 ms: bin 0 -> 2 predicts (-,-,+), realised (-,+,+): 3 pairs, 2 hits
    proj = summary["projection"]
    assert proj["100"] == {"hit_rate": 0.5, "n_pairs": 4}
    assert proj["200"] == {"hit_rate": 2 / 3, "n_pairs": 3}
    assert proj["300"] == {"hit_rate": None, "n_pairs": 0}
    assert proj["400"] == {"hit_rate": None, "n_pairs": 0}


def test_mid_zero_is_never_a_price_in_hit_rates() -> None:
    # bin 1's book is flagged valid but its mid is 0: no move to or from it counts
    frames = [
        make_frame(i, START + i * BIN_NS, radius=1, mid=m, score=[0.0, 0.1 * (i + 1), 0.0],
                   pressure=[1.0, 0.0, 0.0], vacuum=[0.0, 0.0, 0.0])
        for i, m in enumerate([100.0, 0.0, 100.25])
    ]  # fmt: skip
    s = from_frames(frames, GEO)
    assert bool(s.book_valid[1]) and s.mid_price[1] == 0.0
    result = analysis.default(s, analysis.DefaultParams((1, 2)))
    assert result["summary"]["center_sign_hit_rate"] is None
    by_h = result["net_pv_edge"]["hit_rate_by_horizon"]
    assert by_h["1"]["trials"] == 0 and by_h["1"]["hit_rate"] is None
    # 100.0 -> 100.25 two bins on with a bullish net edge: one trial, a hit
    assert (by_h["2"]["hits"], by_h["2"]["trials"]) == (1, 1)
    _, trades = analysis.trade_results(s, np.array([0]), np.array([-1]), _trade_params(3))
    assert trades[0]["outcome"] == "timeout" and trades[0]["outcome_price"] == 100.25


def test_default_needs_two_bins_and_positive_horizons() -> None:
    with pytest.raises(VPError, match="at least 2"):
        analysis.default(_series([100.0]), analysis.DefaultParams((1,)))
    for bad in ((0,), (-3,), ()):
        with pytest.raises(VPError, match="--horizons-bins"):
            analysis.DefaultParams(bad)


def test_projection_experiment_ignores_horizons_without_trials() -> None:
    # 6 bins: projections exist from bin 3, so horizons 3 and 4 bins have no trials
    rng = np.random.default_rng(2)
    frames = [
        make_frame(i, START + i * BIN_NS, radius=2, score=rng.uniform(-1, 1, 5)) for i in range(6)
    ]
    params = analysis.ExperimentParams(
        use_cubic_values=(False,),
        cubic_scale_values=(0.1,),
        damping_lambda_values=(0.0, 0.001),
        slope_window_bins=2,
    )
    result = analysis.projection_experiment(from_frames(frames, GEO), params)
    for run in result["runs"]:
        by_h = run["hit_rate_by_horizon"]
        assert by_h["3"]["hit_rate"] is None and by_h["4"]["hit_rate"] is None
        assert by_h["1"]["trials"] > 0 and by_h["2"]["trials"] > 0
        expected = (by_h["1"]["hit_rate"] + by_h["2"]["hit_rate"]) / 2
        assert run["mean_hit_rate"] == pytest.approx(expected, abs=1e-15)
    # two bins: no horizon has trials; the rate is null and the runs still rank
    result = analysis.projection_experiment(from_frames(frames[:2], GEO), params)
    assert [r["mean_hit_rate"] for r in result["runs"]] == [None, None]
    assert [r["rank"] for r in result["runs"]] == [1, 2]


@pytest.mark.parametrize(
    ("kwargs", "flag"),
    [
        ({"tp_ticks": 0}, "--tp-ticks"),
        ({"sl_ticks": -1}, "--sl-ticks"),
        ({"edge_threshold": 0}, "--edge-threshold"),
        ({"cooldown_bins": -1}, "--cooldown-bins"),
        ({"max_hold_snapshots": 0}, "--max-hold-snapshots"),
        ({"micro_windows": (0, 5)}, "--micro-windows"),
        ({"directional_bands": ()}, "--directional-bands"),
    ],
)
def test_regime_params_are_checked(kwargs: dict, flag: str) -> None:
    with pytest.raises(VPError, match=flag):
        analysis.RegimeParams(**kwargs)


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
    argv += ["--micro-windows", "5,10", "--edge-threshold", "0.02", "--max-hold-snapshots", "50"]
    assert analyze_main(argv) == 0
    result = json.loads(out.read_text())
    assert result["mode"] == mode and result["n_bins"] == 400
    page = out.with_suffix(".html").read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    if mode == "regime":
        for block in (result["trade_results"], result["page_composite"]["trade_results"]):
            fields = ["n_signals", "n_up", "n_down", "tp_before_sl_rate", "sl_before_tp_rate",
                      "timeout_rate", "events_per_hour", "median_time_to_outcome_ms",
                      "mean_pnl_ticks", "breakeven_hit_rate", "hit_rate_ci95"]  # fmt: skip
            assert set(fields) <= set(block)
            assert block["breakeven_hit_rate"] == pytest.approx(1 / 3)
        assert result["trade_results"]["n_signals"] == len(result["trades"]) > 0
        reference_fields = {"bin_idx", "direction", "entry_price", "outcome", "outcome_price",
                            "time_to_outcome_ms", "pnl_ticks"}  # fmt: skip
        assert set(result["trades"][0]) >= reference_fields
        assert set(result["edge"]) == {"mean", "std", "pct_up", "pct_flat", "pct_down"}
        assert set(result["spectrum"]) == {"pressure_share", "neutral_share", "vacuum_share"}
    if mode == "default":
        assert set(result["summary"]) == {
            "n_eval_bins", "n_cells", "state_share_pressure", "state_share_neutral",
            "state_share_vacuum", "directional_edge", "center_sign_hit_rate", "projection",
        }  # fmt: skip
        assert list(result["summary"]["projection"]) == ["100", "200", "300", "400"]
    if mode == "projection_experiment":
        assert len(result["runs"]) == 4 + 3 * 4
        assert [r["rank"] for r in result["runs"]] == list(range(1, 17))


def test_capture_and_published_dataset_give_the_same_numbers(
    capture_dir: Path, tmp_path: Path
) -> None:
    a = load_capture(capture_dir)
    publish(capture_dir, "same_numbers", [], tmp_path / "lake")
    b = load_published(tmp_path / "lake", "same_numbers")
    params = analysis.RegimeParams(micro_windows=(5, 10), edge_threshold=0.02)
    ra, rb = analysis.regime(a, params), analysis.regime(b, params)
    assert ra["trades"] and ra == rb


def test_pipeline_and_capture_give_the_same_numbers(tmp_path: Path) -> None:
    """The golden reference capture vs the pipeline replaying the real file over the same window."""
    ref = golden_lake(tmp_path)
    common = ["--mode", "regime", "--config", str(ref / "instrument.esh4.yaml"),
              "--micro-windows", "25,50", "--edge-threshold", "0.02",
              "--eval-start", "18:01", "--eval-end", "18:04"]  # fmt: skip
    out_a, out_b = tmp_path / "a.json", tmp_path / "b.json"
    assert analyze_main([*common, "--capture-dir", str(ref), "--dt", "2023-12-25",
                         "--json-output", str(out_a)]) == 0  # fmt: skip
    pipeline = ["--product-type", "future_mbo", "--symbol", "ESH4", "--dt", "2023-12-25",
                "--start-time", "18:00", "--lake-root", str(tmp_path)]  # fmt: skip
    assert analyze_main([*common, *pipeline, "--json-output", str(out_b)]) == 0
    ra, rb = json.loads(out_a.read_text()), json.loads(out_b.read_text())
    for key in ("timing_seconds", "start_time"):  # the pipeline route also names its stream start
        ra.pop(key), rb.pop(key)
    assert ra["n_bins"] == 1800 and ra["trades"]
    assert ra == rb
