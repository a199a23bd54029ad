"""Bad requests to the analysis and publish commands: a clear message and exit 2, nothing
written, never a traceback or NaN in the JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from research_fakes import BIN_NS, make_frame, write_fake_capture

from vacuum_pressure.research.capture import capture_window
from vacuum_pressure.research.cli_analyze import main as analyze_main
from vacuum_pressure.research.cli_publish import main as publish_main

START = capture_window("2026-02-06", "09:30:00", "10:30:00").start_ns


@pytest.fixture
def capture_dir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(4)
    mids = 100.0 + 0.25 * np.cumsum(rng.integers(-1, 2, 300))
    frames = [
        make_frame(i, START + i * BIN_NS, radius=5, mid=float(m),
                   score=np.clip(rng.normal(0, 0.5, 11), -1, 1),
                   pressure=rng.random(11), vacuum=rng.random(11))
        for i, m in enumerate(mids)
    ]  # fmt: skip
    return write_fake_capture(tmp_path / "cap", frames)


def _exit_code(argv: list[str], main=analyze_main) -> int:
    """The exit code of a command, whether it returns or argparse exits."""
    try:
        return int(main(argv))
    except SystemExit as exc:
        return int(exc.code or 0)


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("route", ["capture", "dataset"])
def test_reversed_or_empty_eval_window_is_refused(
    capture_dir: Path, tmp_path: Path, route: str, caplog: pytest.LogCaptureFixture
) -> None:
    lake = tmp_path / "lake"
    if route == "capture":
        source = ["--capture-dir", str(capture_dir)]
    else:
        assert publish_main(["--lake-root", str(lake), "publish", "--source-dir",
                             str(capture_dir), "--dataset-id", "win"]) == 0  # fmt: skip
        source = ["--dataset-id", "win", "--lake-root", str(lake)]
    out = tmp_path / "r.json"
    for mode in ("default", "regime"):
        argv = [*source, "--mode", mode, "--eval-start", "09:31", "--eval-end", "09:30",
                "--json-output", str(out)]  # fmt: skip
        assert analyze_main(argv) == 2
        assert "--eval-end 09:30 is not after --eval-start 09:31" in _logged(caplog)
        # the data covers 09:30:00.1 to 09:30:30: a window after it has no bins
        argv = [*source, "--mode", mode, "--eval-start", "11:00", "--eval-end", "11:30"]
        assert analyze_main(argv) == 2
        assert "no bins in the eval window" in _logged(caplog)
    assert not out.exists()


def test_reversed_window_is_refused_before_replaying(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    argv = ["--product-type", "future_mbo", "--symbol", "MNQH6", "--dt", "2026-02-06",
            "--eval-start", "10:00", "--eval-end", "09:00",
            "--lake-root", str(tmp_path)]  # fmt: skip
    assert analyze_main(argv) == 2
    assert "is not after --eval-start" in _logged(caplog)
    assert "no raw data" not in _logged(caplog)


def test_undefined_rates_are_null_in_the_json(capture_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    argv = ["--mode", "regime", "--capture-dir", str(capture_dir), "--edge-threshold", "5",
            "--composite-threshold", "5", "--json-output", str(out)]  # fmt: skip
    assert analyze_main(argv) == 0
    text = out.read_text()
    results = json.loads(text)["trade_results"]
    assert results["n_signals"] == 0
    assert results["tp_before_sl_rate"] is None and results["mean_pnl_ticks"] is None


def test_dataset_from_a_reference_format_capture(
    capture_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reference system's manifests have no tick: the config's tick is used on every route."""
    manifest = json.loads((capture_dir / "manifest.json").read_text())
    for key in ("tick_size", "tick_int"):
        del manifest[key]
    (capture_dir / "manifest.json").write_text(json.dumps(manifest))
    lake = tmp_path / "lake"
    assert publish_main(["--lake-root", str(lake), "publish", "--source-dir", str(capture_dir),
                         "--dataset-id", "ref_format"]) == 0  # fmt: skip
    outs = []
    for source in (["--capture-dir", str(capture_dir)], ["--dataset-id", "ref_format"]):
        out = tmp_path / f"{source[0][2:]}.json"
        argv = [*source, "--mode", "regime", "--lake-root", str(lake), "--edge-threshold", "0.02",
                "--json-output", str(out)]  # fmt: skip
        assert analyze_main(argv) == 0
        result = json.loads(out.read_text())
        result.pop("timing_seconds")
        outs.append(result)
    assert outs[0]["trades"] and outs[0] == outs[1]


@pytest.mark.parametrize("broken", ["manifest", "buckets"])
def test_corrupt_capture_files_are_reported(
    capture_dir: Path, tmp_path: Path, broken: str, caplog: pytest.LogCaptureFixture
) -> None:
    name = "manifest.json" if broken == "manifest" else "buckets.parquet"
    (capture_dir / name).write_text("{'not valid" if broken == "manifest" else "not parquet")
    assert analyze_main(["--capture-dir", str(capture_dir)]) == 2
    assert name in _logged(caplog)
    lake = tmp_path / "lake"
    argv = ["--lake-root", str(lake), "publish", "--source-dir", str(capture_dir),
            "--dataset-id", "broken", "--agents", "eda"]  # fmt: skip
    assert publish_main(argv) == 2
    assert name in _logged(caplog)
    assert not (lake / "research").exists()  # refused before anything was made


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--experiment-damping-lambda-values=-1,0"],
         "--experiment-damping-lambda-values '-1.0,0.0'"),
        (["--experiment-cubic-scale-values", ""], "--experiment-cubic-scale-values ''"),
        (["--experiment-slope-window-bins", "0"], "--experiment-slope-window-bins 0"),
        (["--experiment-slope-window-bins", "1"], "--experiment-slope-window-bins 1"),
        (["--experiment-shift-z-threshold", "-1"], "--experiment-shift-z-threshold -1.0"),
        (["--horizons-bins", "-3"], "--horizons-bins '-3'"),
        (["--horizons-bins", "0"], "--horizons-bins '0'"),
        (["--mode", "regime", "--tp-ticks", "0", "--sl-ticks", "0"], "--tp-ticks 0.0"),
        (["--mode", "regime", "--edge-threshold", "0"], "--edge-threshold 0.0"),
        (["--mode", "regime", "--cooldown-bins", "-5"], "--cooldown-bins -5"),
        (["--mode", "regime", "--micro-windows", "0,25"], "--micro-windows '0,25'"),
        (["--projection-damping-lambda", "-0.5", "--product-type", "future_mbo", "--symbol",
          "MNQH6", "--dt", "2026-02-06", "--start-time", "09:30"],
         "projection_damping_lambda -0.5"),
    ],
)  # fmt: skip
def test_invalid_flag_values_are_refused(
    capture_dir: Path, flags: list[str], needle: str, caplog: pytest.LogCaptureFixture
) -> None:
    source = [] if "--product-type" in flags else ["--capture-dir", str(capture_dir)]
    assert analyze_main([*source, *flags]) == 2
    assert needle in _logged(caplog)
    assert "expected" in _logged(caplog)


def test_unparseable_lists_are_usage_errors(
    capture_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_code(["--capture-dir", str(capture_dir), "--horizons-bins", "1,x"]) == 2
    assert "'1,x' is not a list of integers" in capsys.readouterr().err
    assert _exit_code(["--capture-dir", str(capture_dir), "--experiment-use-cubic-values",
                       "maybe"]) == 2  # fmt: skip
    assert "booleans" in capsys.readouterr().err
