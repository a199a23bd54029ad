"""The Python signal port reproduces the shared TypeScript fixture (same maths, float64)."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest

from testdata import REPO_ROOT
from vacuum_pressure.research.signals import SignalWindows, ms_to_bins, page_signals

FIXTURE = REPO_ROOT / "fixtures" / "signals" / "signals_fixture.json"
DATA = json.loads(FIXTURE.read_text())
CASES = {c["name"]: c for c in DATA["cases"]}


def _run(case):
    bins = case["bins"]
    mat = {
        f: np.array([b[f] for b in bins]) for f in ("v_add", "v_pull", "v_fill", "vacuum_variant")
    }
    return page_signals(
        np.array(case["k"]),
        mat["v_add"],
        mat["v_pull"],
        mat["v_fill"],
        mat["vacuum_variant"],
        case["cell_width_ms"],
    )


@pytest.mark.parametrize("name", list(CASES))
def test_derived_windows_match(name: str) -> None:
    case = CASES[name]
    derived = asdict(SignalWindows.for_cell_width(case["cell_width_ms"]))
    derived["slope_windows_bins"] = list(derived["slope_windows_bins"])
    assert derived == case["derived"]


@pytest.mark.parametrize("name", list(CASES))
def test_signals_match_fixture(name: str) -> None:
    case = CASES[name]
    out = _run(case)
    tol = DATA["tolerance_abs"]
    expected = case["expected"]
    assert len(expected) == len(out.ads)
    series = {
        "ads": out.ads,
        "ads_asymmetry": out.ads_asymmetry,
        "ads_slopes": out.ads_slopes,
        "ads_z": out.ads_z,
        "pfp": out.pfp,
        "pfp_leads": out.pfp_leads,
        "svac": out.svac,
        "svac_raw": out.svac_raw,
        "composite": out.composite,
        "warmup_fraction": out.warmup_fraction,
    }
    for key, actual in series.items():
        want = np.array([e[key] for e in expected], dtype=np.float64)
        np.testing.assert_allclose(actual, want, rtol=0, atol=tol, err_msg=f"{name}.{key}")
    for key, actual in (("ads_warm", out.ads_warm), ("pfp_warm", out.pfp_warm)):
        np.testing.assert_array_equal(actual, [e[key] for e in expected], err_msg=key)
    assert all(e["svac_warm"] for e in expected)


def test_ms_to_bins() -> None:
    assert ms_to_bins(500, 250, 1) == 2
    assert ms_to_bins(1000, 300, 2) == 4
    assert ms_to_bins(10, 100, 2) == 2
