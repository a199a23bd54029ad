"""Shared fixtures. Real exchange data lives outside the repo (never committed): tests find it
through ``VP_SHARED_DATA`` (default ``<repo>/../shared/data``) and skip with a reason if absent."""

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


@pytest.fixture
def shared_data() -> Path:
    """The shared data folder, or skip."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"shared data folder {path} is absent (set {SHARED_DATA_ENV})")
    return path


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty lake root in a temp dir, installed as ``VP_LAKE_ROOT``."""
    root = tmp_path / "lake"
    root.mkdir()
    monkeypatch.setenv("VP_LAKE_ROOT", str(root))
    return root
