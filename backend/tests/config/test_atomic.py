"""``atomic.replacing``: the old content or the new, never half, and no temporary file left."""

from __future__ import annotations

from pathlib import Path

import pytest

from vacuum_pressure.atomic import replacing


def test_the_new_content_replaces_the_old_only_when_the_block_ends(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("old")
    with replacing(path) as fh:
        fh.write("new")
        assert path.read_text() == "old"  # not yet
    assert path.read_text() == "new"
    with replacing(path, "wb") as fh:
        fh.write(b"\x00bytes")
    assert path.read_bytes() == b"\x00bytes"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


@pytest.mark.parametrize("stop", [ValueError, KeyboardInterrupt])
def test_a_failed_write_leaves_the_old_content_and_no_temp_file(
    tmp_path: Path, stop: type[BaseException]
) -> None:
    path = tmp_path / "state.json"
    path.write_text("old")
    with pytest.raises(stop), replacing(path) as fh:
        fh.write("half")
        raise stop
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
