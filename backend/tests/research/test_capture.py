"""Capture: window boundaries, minute alignment, schema, row counts, manifest, atomicity, and
the golden window reproduced from the real ESH4 file."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from research_fakes import BIN_NS, DT, HORIZONS_MS, frames_from, make_frame

from testdata import golden_lake
from vacuum_pressure.config import load_config
from vacuum_pressure.errors import VPError
from vacuum_pressure.pipeline.frames import BIN_COLUMNS
from vacuum_pressure.research.capture import (
    CaptureError,
    buckets_schema,
    capture,
    capture_window,
    write_capture,
)
from vacuum_pressure.research.cli_capture import main as capture_main
from vacuum_pressure.timeutil import et_to_ns


def test_start_must_be_minute_aligned() -> None:
    with pytest.raises(CaptureError, match=r"'09:25:30' is not aligned to a minute"):
        capture_window(DT, "09:25:30", "09:40:00")
    assert capture_window(DT, "09:25", "09:40").start_et == "09:25:00"
    assert capture_window(DT, "09:25:00", "09:40:15").stream_start_hhmm == "09:25"


def test_end_must_follow_start_and_clock_is_checked() -> None:
    with pytest.raises(CaptureError, match="must be after"):
        capture_window(DT, "09:25:00", "09:25:00")
    with pytest.raises(VPError, match="capture_end_et '25:00' is"):
        capture_window(DT, "09:25:00", "25:00")


def test_cli_reports_misaligned_start(tmp_path: Path) -> None:
    code = capture_main(
        [
            "--product-type", "future_mbo", "--symbol", "MNQH6", "--dt", DT,
            "--capture-start-et", "09:25:01", "--capture-end-et", "09:26:00",
            "--output-dir", str(tmp_path / "out"), "--lake-root", str(tmp_path),
        ]
    )  # fmt: skip
    assert code == 2
    assert not (tmp_path / "out").exists()


def test_window_is_end_exclusive_and_stops_reading(tmp_path: Path) -> None:
    window = capture_window(DT, "09:30:00", "09:30:01")
    pulled: list[int] = []

    def frames():
        # bins ending 09:29:59.8 .. 09:30:01.5; the source must not be read past 09:30:01.0
        for i, f in enumerate(frames_from(window.start_ns - 2 * BIN_NS, 40)):
            pulled.append(i)
            yield f

    result = write_capture(frames(), tmp_path / "cap", window, {}, HORIZONS_MS)
    bins = pd.read_parquet(tmp_path / "cap" / "bins.parquet")
    assert bins["ts_ns"].iloc[0] == window.start_ns  # start included
    assert bins["ts_ns"].iloc[-1] == window.end_ns - BIN_NS  # end excluded
    assert len(bins) == result.bins == 10
    assert pulled[-1] == 12  # the first bin at the end was read, nothing after it
    assert result.manifest["first_bin_ts_ns"] == window.start_ns
    assert result.manifest["last_bin_ts_ns"] == window.end_ns - BIN_NS


def test_columns_dtypes_and_rows_per_bin(tmp_path: Path) -> None:
    window = capture_window(DT, "09:30:00", "09:31:00")
    frames = list(frames_from(window.start_ns, 25, radius=4))
    write_capture(frames, tmp_path / "cap", window, {"x": 1}, HORIZONS_MS, batch_bins=7)
    bins = pd.read_parquet(tmp_path / "cap" / "bins.parquet")
    cells = pd.read_parquet(tmp_path / "cap" / "buckets.parquet")
    assert list(bins.columns) == list(BIN_COLUMNS)
    assert list(cells.columns) == buckets_schema(HORIZONS_MS).names
    assert len(cells) == 25 * 9  # 2R+1 rows per bin
    assert (cells.groupby("bin_seq").size() == 9).all()
    assert str(cells["k"].dtype) == "int32"
    assert str(cells["spectrum_state_code"].dtype) == "int8"
    assert str(bins["book_valid"].dtype) == "bool"
    np.testing.assert_array_equal(cells["k"].to_numpy()[:9], np.arange(-4, 5))
    # row 3 of bin 11 carries seq + 3/100 in every float field
    row = cells[(cells["bin_seq"] == 11) & (cells["k"] == -1)].iloc[0]
    assert row["v_pull"] == 11.03 and row["j_rest_depth"] == 11.03
    assert row["ts_ns"] == window.start_ns + 11 * BIN_NS
    manifest = json.loads((tmp_path / "cap" / "manifest.json").read_text())
    assert manifest["x"] == 1
    assert manifest["rows"] == {"bins": 25, "buckets": 225}
    assert manifest["output"]["buckets_parquet"] == "buckets.parquet"


def test_refuses_existing_output_unless_forced(tmp_path: Path) -> None:
    window = capture_window(DT, "09:30:00", "09:31:00")
    out = tmp_path / "cap"
    write_capture(frames_from(window.start_ns, 3), out, window, {}, HORIZONS_MS)
    with pytest.raises(CaptureError, match="already exists"):
        write_capture(frames_from(window.start_ns, 5), out, window, {}, HORIZONS_MS)
    write_capture(frames_from(window.start_ns, 5), out, window, {}, HORIZONS_MS, force=True)
    assert len(pd.read_parquet(out / "bins.parquet")) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cap"]


def test_force_replaces_only_a_capture_or_an_empty_folder(tmp_path: Path) -> None:
    window = capture_window(DT, "09:30:00", "09:31:00")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "thesis.txt").write_text("mine")
    (tmp_path / "afile").write_text("mine")
    published = tmp_path / "published"  # a dataset base: manifest, bins, grid_clean, checksums
    published.mkdir()
    for name in ("manifest.json", "bins.parquet", "grid_clean.parquet", "checksums.json"):
        (published / name).write_text("{}")
    for target in ("notes", "afile", "published"):
        with pytest.raises(CaptureError, match="replaces only an earlier capture"):
            frames = frames_from(window.start_ns, 3)
            write_capture(frames, tmp_path / target, window, {}, HORIZONS_MS, force=True)
    assert (tmp_path / "notes" / "thesis.txt").read_text() == (tmp_path / "afile").read_text()
    (tmp_path / "empty").mkdir()
    frames = frames_from(window.start_ns, 3)
    write_capture(frames, tmp_path / "empty", window, {}, HORIZONS_MS, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "empty", "notes", "published"]
    assert len(list(published.iterdir())) == 4


def test_failure_mid_capture_leaves_nothing(tmp_path: Path) -> None:
    window = capture_window(DT, "09:30:00", "09:31:00")

    def broken():
        yield from frames_from(window.start_ns, 30)
        raise KeyboardInterrupt  # as Ctrl-C would

    with pytest.raises(KeyboardInterrupt):
        write_capture(broken(), tmp_path / "cap", window, {}, HORIZONS_MS, batch_bins=8)
    assert list(tmp_path.iterdir()) == []


def test_inconsistent_rows_fail_cleanly(tmp_path: Path) -> None:
    window = capture_window(DT, "09:30:00", "09:31:00")
    frames = [make_frame(0, window.start_ns), make_frame(1, window.start_ns + BIN_NS, radius=2)]
    with pytest.raises(CaptureError, match=r"bin 1 has 5 rows, expected 7"):
        write_capture(frames, tmp_path / "cap", window, {}, HORIZONS_MS)
    assert list(tmp_path.iterdir()) == []


def test_empty_window_is_an_error(tmp_path: Path) -> None:
    window = capture_window(DT, "09:30:00", "09:31:00")
    with pytest.raises(CaptureError, match="no bins"):
        write_capture(frames_from(window.end_ns, 3), tmp_path / "cap", window, {}, HORIZONS_MS)
    assert list(tmp_path.iterdir()) == []


def test_the_output_folder_has_the_usual_mode(tmp_path: Path) -> None:
    # mkdtemp makes 0700 folders; the renamed capture must be readable as a mkdir'd one is.
    window = capture_window(DT, "09:30:00", "09:31:00")
    out = write_capture(frames_from(window.start_ns, 3), tmp_path / "cap", window, {}, HORIZONS_MS)
    umask = os.umask(0)
    os.umask(umask)
    assert out.output_dir.stat().st_mode & 0o777 == 0o777 & ~umask


def test_a_window_before_the_data_is_an_error(tmp_path: Path) -> None:
    # The stream emits empty bins from its start until the first record: no record processed
    # (event_id 0) by the window's end means the data starts after it.
    window = capture_window(DT, "09:30:00", "09:31:00")
    empty = []
    for i in range(3):
        frame = make_frame(i, window.start_ns + (i + 1) * BIN_NS)
        empty.append(dataclasses.replace(frame, header=frame.header._replace(event_id=0)))
    with pytest.raises(CaptureError, match="the data starts after the window"):
        write_capture(empty, tmp_path / "cap", window, {}, HORIZONS_MS)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def golden_capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("lake")
    ref = golden_lake(root)
    config = load_config(ref / "instrument.esh4.yaml")
    out = tmp_path_factory.mktemp("capture") / "esh4"
    capture(config, "2023-12-25", "18:00:00", "18:05:00", out, root=root)
    return ref, out


@pytest.mark.parametrize("name", ["bins.parquet", "buckets.parquet"])
def test_golden_window_reproduces_reference(golden_capture: tuple[Path, Path], name: str) -> None:
    ref, out = golden_capture
    expected = pd.read_parquet(ref / name)
    actual = pd.read_parquet(out / name)
    assert list(actual.columns) == list(expected.columns)
    assert list(actual.dtypes) == list(expected.dtypes)
    assert len(actual) == len(expected)
    for col in expected.columns:
        e, a = expected[col].to_numpy(), actual[col].to_numpy()
        if e.dtype.kind in "iub":
            np.testing.assert_array_equal(a, e, err_msg=col)
        else:
            np.testing.assert_allclose(a, e, rtol=1e-9, atol=1e-9, err_msg=col)


def test_golden_manifest_has_reference_keys(golden_capture: tuple[Path, Path]) -> None:
    ref, out = golden_capture
    expected = json.loads((ref / "manifest.json").read_text())
    actual = json.loads((out / "manifest.json").read_text())
    assert set(expected) <= set(actual)
    keys = [k for k in expected if k not in ("elapsed_seconds", "created_at_utc")]
    for key in keys:
        assert actual[key] == expected[key], key
    assert actual["capture_start_ns"] == et_to_ns("2023-12-25", "18:00")
