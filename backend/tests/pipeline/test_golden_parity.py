"""Parity with the reference system's captured serve-path output (shared/data/reference).

Every column of every row of the golden capture must be reproduced: integers exactly, floats
within 1e-9 absolute or relative (SPEC 11). The input is the real ESH4 CME file, placed in a
temporary lake exactly as the reference's README describes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from testdata import golden_lake
from vacuum_pressure.config import load_config
from vacuum_pressure.pipeline.frames import BIN_COLUMNS
from vacuum_pressure.pipeline.replay import serve_bins
from vacuum_pressure.timeutil import et_to_ns


@pytest.fixture(scope="module")
def golden_run(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("lake")
    ref = golden_lake(root)
    config = load_config(ref / "instrument.esh4.yaml")
    start = et_to_ns("2023-12-25", "18:00:00")
    end = et_to_ns("2023-12-25", "18:05:00")
    headers, columns = [], []
    for frame in serve_bins(config, "2023-12-25", "18:00", root=root):
        ts = frame.header.ts_ns
        if ts >= end:
            break
        if ts >= start:
            headers.append(frame.header.as_dict())
            columns.append(frame.columns())
    bins = pd.DataFrame(headers)
    names = list(columns[0])
    cells = {name: np.concatenate([c[name] for c in columns]) for name in names}
    return ref, config, bins, cells


def _assert_column(name: str, expected: np.ndarray, actual: np.ndarray) -> None:
    assert expected.shape == actual.shape, name
    if expected.dtype.kind in "iub":
        bad = np.flatnonzero(expected != actual)
    else:
        close = np.isclose(actual, expected, rtol=1e-9, atol=1e-9)
        bad = np.flatnonzero(~close)
    assert bad.size == 0, (
        f"{name}: {bad.size} mismatches, first at row {bad[0]}: "
        f"expected {expected[bad[0]]!r}, got {actual[bad[0]]!r}"
    )


def test_config_version_matches_reference(golden_run) -> None:
    ref, config, _, _ = golden_run
    manifest = pd.read_json(ref / "manifest.json", typ="series")
    assert config.config_version == manifest["config_version"] == "5eecca870e1f"


def test_bins_match_reference(golden_run) -> None:
    ref, _, bins, _ = golden_run
    golden = pd.read_parquet(ref / "bins.parquet")
    assert list(golden.columns) == list(BIN_COLUMNS)
    assert len(bins) == len(golden) == 2999
    for name in golden.columns:
        _assert_column(name, golden[name].to_numpy(), bins[name].to_numpy())


@pytest.mark.parametrize(
    "group",
    ["engine", "spectrum", "projections"],
)
def test_buckets_match_reference(golden_run, group: str) -> None:
    ref, _, _, cells = golden_run
    golden = pd.read_parquet(ref / "buckets.parquet")
    assert len(golden) == 2999 * 101
    spectrum_cols = {"spectrum_score", "spectrum_state_code"}
    for name in golden.columns:
        if name in BIN_COLUMNS:
            continue
        kind = (
            "projections"
            if name.startswith("proj_score_h")
            else "spectrum"
            if name in spectrum_cols
            else "engine"
        )
        if kind == group:
            _assert_column(name, golden[name].to_numpy(), cells[name])
            assert cells[name].dtype == golden[name].dtype, name
