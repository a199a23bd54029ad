"""Where the shared real-data samples are (never committed): ``VP_SHARED_DATA`` or
``<repo>/../shared/data``. Tests skip with a clear reason when a file is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
