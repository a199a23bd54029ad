"""Shared fixtures. Real exchange data lives outside the repo (never committed): tests find it
through ``VP_SHARED_DATA`` (default ``<repo>/../shared/data``) and skip with a reason if absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from testdata import SHARED_DATA_ENV, shared_data_dir


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
