"""Publish: layout, checksums, read-only base, symlinks, add-agents, refusals, tamper detection."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest
from research_fakes import frames_from, write_fake_capture

from vacuum_pressure.errors import VPError
from vacuum_pressure.research import publish as publish_module
from vacuum_pressure.research.capture import capture_window
from vacuum_pressure.research.cli_publish import main as publish_main
from vacuum_pressure.research.publish import (
    PublishError,
    add_agents,
    dataset_paths,
    publish,
    sha256_file,
    verify,
)

DSID = "mnqh6_test_0930"


@pytest.fixture
def published(tmp_path: Path):
    window = capture_window("2026-02-06", "09:30:00", "10:30:00")
    src = write_fake_capture(tmp_path / "cap", list(frames_from(window.start_ns, 12)))
    root = tmp_path / "lake"
    paths = publish(src, DSID, ["eda", "regime"], root)
    yield src, root, paths
    for p in [paths.base, *paths.base.iterdir()]:  # let pytest clean up
        p.chmod(0o755)


def test_layout_and_split(published) -> None:
    src, root, paths = published
    assert paths.base == root / "research" / "vp_immutable" / DSID
    assert sorted(p.name for p in paths.base.iterdir()) == [
        "bins.parquet",
        "checksums.json",
        "grid_clean.parquet",
        "manifest.json",
    ]
    buckets = pd.read_parquet(src / "buckets.parquet")
    grid = pd.read_parquet(paths.base / "grid_clean.parquet")
    seed = pd.read_parquet(paths.experiments / "projection_seed.parquet")
    proj = [c for c in buckets.columns if c.startswith("proj_")]
    assert list(grid.columns) == [c for c in buckets.columns if c not in proj]
    assert list(seed.columns) == ["ts_ns", "bin_seq", "k", *proj]
    pd.testing.assert_frame_equal(seed, buckets[["ts_ns", "bin_seq", "k", *proj]])
    pd.testing.assert_frame_equal(grid, buckets.drop(columns=proj))
    manifest = json.loads((paths.base / "manifest.json").read_text())
    assert manifest["published"]["dataset_id"] == DSID


def test_checksums_and_read_only(published) -> None:
    _, root, paths = published
    sums = json.loads((paths.base / "checksums.json").read_text())
    assert sums["algorithm"] == "sha256"
    for name, digest in sums["files"].items():
        assert sha256_file(paths.base / name) == digest
    assert set(sums["files"]) == {"bins.parquet", "grid_clean.parquet", "manifest.json"}
    assert verify(DSID, root) == []
    for p in [paths.base, *paths.base.iterdir()]:
        assert stat.S_IMODE(p.stat().st_mode) & 0o222 == 0, p


def test_agent_workspaces_and_symlinks(published) -> None:
    _, _, paths = published
    for agent in ("eda", "regime"):
        ws = paths.experiments / "agents" / agent
        link = ws / "data" / "base_immutable"
        assert link.is_symlink() and not os.path.isabs(os.readlink(link))
        assert link.resolve() == paths.base.resolve()
        assert (link / "bins.parquet").is_file()
        exp = ws / "data" / "projection_experiment.parquet"
        assert os.access(exp, os.W_OK) and (ws / "outputs").is_dir()
        pd.testing.assert_frame_equal(
            pd.read_parquet(exp), pd.read_parquet(paths.experiments / "projection_seed.parquet")
        )


def test_add_agents_leaves_base_untouched(published) -> None:
    _, root, paths = published
    before = {p.name: (p.stat().st_mtime_ns, sha256_file(p)) for p in paths.base.iterdir()}
    created = add_agents(DSID, ["alpha", "beta"], root)
    assert [p.name for p in created] == ["alpha", "beta"]
    after = {p.name: (p.stat().st_mtime_ns, sha256_file(p)) for p in paths.base.iterdir()}
    assert after == before
    assert (paths.experiments / "agents" / "beta" / "data" / "base_immutable").resolve() == (
        paths.base.resolve()
    )
    with pytest.raises(PublishError, match=r"agents \['alpha'\] already have workspaces"):
        add_agents(DSID, ["alpha"], root)


def _agents(paths) -> list[str]:
    return sorted(p.name for p in (paths.experiments / "agents").iterdir())


def test_add_agents_is_all_or_nothing(published) -> None:
    _, root, paths = published
    with pytest.raises(PublishError, match=r"\['eda'\] already have workspaces"):
        add_agents(DSID, ["alpha", "eda"], root)
    with pytest.raises(VPError, match="agent name 'Bad'"):
        add_agents(DSID, ["alpha", "Bad"], root)
    with pytest.raises(PublishError, match="at least one agent"):
        add_agents(DSID, [], root)
    assert _agents(paths) == ["eda", "regime"]
    code = publish_main(["--lake-root", str(root), "add-agents", "--dataset-id", DSID,
                         "--agents", "alpha,regime"])  # fmt: skip
    assert code == 2 and _agents(paths) == ["eda", "regime"]
    # a repeated name counts once
    assert [p.name for p in add_agents(DSID, ["alpha", "alpha"], root)] == ["alpha"]


def test_a_workspace_made_meanwhile_by_someone_else_is_left_alone(
    published, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, root, paths = published
    real_add = publish_module._add_agent

    def someone_else_first(dataset_paths, name, experiments=None):
        if name == "beta":  # made between add_agents' check and its own creation
            (paths.agent("beta") / "mine.txt").parent.mkdir(parents=True)
            (paths.agent("beta") / "mine.txt").write_text("theirs")
        return real_add(dataset_paths, name, experiments)

    monkeypatch.setattr(publish_module, "_add_agent", someone_else_first)
    with pytest.raises(PublishError, match="'beta' already has a workspace"):
        add_agents(DSID, ["alpha", "beta"], root)
    assert (paths.agent("beta") / "mine.txt").read_text() == "theirs"
    assert not paths.agent("alpha").exists()  # ours, undone


def test_repeated_agent_names_publish_once(tmp_path: Path) -> None:
    window = capture_window("2026-02-06", "09:30:00", "10:30:00")
    src = write_fake_capture(tmp_path / "cap", list(frames_from(window.start_ns, 3)))
    root = tmp_path / "lake"
    argv = ["--lake-root", str(root), "publish", "--source-dir", str(src), "--dataset-id", "ds3"]
    assert publish_main([*argv, "--agents", "eda,eda"]) == 0
    paths = dataset_paths(root, "ds3")
    assert _agents(paths) == ["eda"]
    link = paths.experiments / "agents" / "eda" / "data" / "base_immutable"
    assert not os.path.isabs(os.readlink(link)) and link.resolve() == paths.base.resolve()
    assert verify("ds3", root) == []
    for p in [paths.base, *paths.base.iterdir()]:
        p.chmod(0o755)


def test_publishing_an_existing_id_refuses(published) -> None:
    src, root, _ = published
    with pytest.raises(PublishError, match="already published"):
        publish(src, DSID, [], root)
    assert verify(DSID, root) == []
    code = publish_main(
        ["--lake-root", str(root), "publish", "--source-dir", str(src), "--dataset-id", DSID]
    )
    assert code == 2


def test_verify_detects_tampering(published) -> None:
    _, root, paths = published
    target = paths.base / "bins.parquet"
    target.chmod(0o644)
    with target.open("r+b") as fh:
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 0xFF]))
    assert verify(DSID, root) == ["bins.parquet: checksum mismatch (file was modified)"]
    assert publish_main(["--lake-root", str(root), "verify", "--dataset-id", DSID]) == 1


@pytest.mark.parametrize("bad", ["../etc", "Upper", "a/b", "", "x" * 65, "a-b", "ok\n"])
def test_ids_and_agent_names_are_validated(tmp_path: Path, bad: str) -> None:
    with pytest.raises(VPError, match="expected 1-64 characters"):
        dataset_paths(tmp_path, bad)
    with pytest.raises(VPError, match="agent name"):
        publish(tmp_path, "ok_id", [bad], tmp_path / "lake")
    assert not (tmp_path / "lake").exists()


def test_source_must_be_a_capture(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match=r"has no bins\.parquet"):
        publish(tmp_path, "ok_id", [], tmp_path / "lake")


def test_cli_publish_and_add_agents(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    window = capture_window("2026-02-06", "09:30:00", "10:30:00")
    src = write_fake_capture(tmp_path / "cap", list(frames_from(window.start_ns, 3)))
    root = tmp_path / "lake"
    argv = ["--lake-root", str(root), "publish", "--source-dir", str(src), "--dataset-id", "d1"]
    assert publish_main([*argv, "--agents", "eda,projection,regime"]) == 0
    assert publish_main(["--lake-root", str(root), "add-agents", "--dataset-id", "d1",
                         "--agents", "alpha,beta"]) == 0  # fmt: skip
    agents = dataset_paths(root, "d1").experiments / "agents"
    assert sorted(p.name for p in agents.iterdir()) == [
        "alpha", "beta", "eda", "projection", "regime"
    ]  # fmt: skip
    assert publish_main(["--lake-root", str(root), "verify", "--dataset-id", "d1"]) == 0
    base = dataset_paths(root, "d1").base
    for p in [base, *base.iterdir()]:
        p.chmod(0o755)
