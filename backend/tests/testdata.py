"""Where the shared real-data samples are (never committed): ``VP_SHARED_DATA`` or
``<repo>/../shared/data``. Tests skip with a clear reason when a file is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vacuum_pressure.lake import raw_mbo_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA_ENV = "VP_SHARED_DATA"


def shared_data_dir() -> Path:
    """The shared data folder: ``$VP_SHARED_DATA`` or ``../shared/data`` beside the repo."""
    override = os.environ.get(SHARED_DATA_ENV, "").strip()
    return Path(override) if override else REPO_ROOT.parent / "shared" / "data"


def require_shared(relative: str) -> Path:
    """Path of a shared data file; skip the test with a clear reason when it is absent."""
    path = shared_data_dir() / relative
    if not path.exists():
        pytest.skip(
            f"shared data file {path} is absent (set {SHARED_DATA_ENV} to the shared/data folder)"
        )
    return path


GOLDEN_REFERENCE = "reference/esh4_20231225_1800_1805"
"""The reference system's captured serve-path output for real ESH4 data (its README: window,
config, command)."""


def golden_lake(root: Path) -> Path:
    """A lake under ``root`` holding the real ESH4 file of the golden reference (a symlink into
    the shared data; skips when it is absent). Returns the reference capture folder, which holds
    ``instrument.esh4.yaml``."""
    ref = require_shared(GOLDEN_REFERENCE)
    raw = require_shared("real/glbx-mdp3/esh4-glbx-mdp3-20231225.mbo.dbn.zst")
    folder = raw_mbo_dir(root, "future_mbo", "ES")
    folder.mkdir(parents=True)
    (folder / "glbx-mdp3-20231225.mbo.dbn.zst").symlink_to(raw)
    return ref
