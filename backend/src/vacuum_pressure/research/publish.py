"""Published research datasets (SPEC 10): an immutable base plus writable agent workspaces.

Layout under ``lake/research``::

    vp_immutable/<id>/{bins.parquet, grid_clean.parquet, manifest.json, checksums.json}  (read-only)
    vp_experiments/<id>/projection_seed.parquet
    vp_experiments/<id>/agents/<name>/data/base_immutable -> ../../../../../vp_immutable/<id>
    vp_experiments/<id>/agents/<name>/data/projection_experiment.parquet
    vp_experiments/<id>/agents/<name>/outputs/

``grid_clean.parquet`` holds every bucket column except the projections; ``projection_seed``
holds the keys ``ts_ns, bin_seq, k`` and the projection columns, in the same row order.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import VPError
from ..lake import research_dir
from .capture import BINS_FILE, BUCKETS_FILE, MANIFEST_FILE
from .cli_common import check_name
from .files import open_parquet, read_manifest, staging_dir

logger = logging.getLogger(__name__)

GRID_CLEAN_FILE = "grid_clean.parquet"
CHECKSUMS_FILE = "checksums.json"
PROJECTION_SEED_FILE = "projection_seed.parquet"
PROJECTION_EXPERIMENT_FILE = "projection_experiment.parquet"
KEY_COLUMNS = ("ts_ns", "bin_seq", "k")
IMMUTABLE_FILES = (BINS_FILE, GRID_CLEAN_FILE, MANIFEST_FILE)
_READ_ONLY_FILE = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
_READ_ONLY_DIR = _READ_ONLY_FILE | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH


class PublishError(VPError):
    """A dataset cannot be published, extended or verified as asked."""


@dataclass(frozen=True)
class DatasetPaths:
    """Where one dataset id lives."""

    base: Path
    experiments: Path

    def agent(self, name: str) -> Path:
        """An agent's workspace."""
        return self.experiments / "agents" / check_name("agent name", name)


def dataset_paths(root: Path, dataset_id: str) -> DatasetPaths:
    """Paths of ``dataset_id`` under the lake ``root`` (the id is validated first)."""
    check_name("dataset id", dataset_id)
    research = research_dir(root)
    return DatasetPaths(
        research / "vp_immutable" / dataset_id, research / "vp_experiments" / dataset_id
    )


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _is_projection(name: str) -> bool:
    return name.startswith("proj_")


def _split_buckets(source: Path, grid_out: Path, seed_out: Path) -> None:
    """Stream buckets.parquet row group by row group into the clean grid and the seed."""
    reader = open_parquet(source)
    names = reader.schema_arrow.names
    missing = [k for k in KEY_COLUMNS if k not in names]
    if missing:
        raise PublishError(f"{source} lacks key columns {missing}: is it a capture's buckets file?")
    grid_cols = [n for n in names if not _is_projection(n)]
    seed_cols = [*KEY_COLUMNS, *(n for n in names if _is_projection(n))]
    schema = reader.schema_arrow
    grid_schema = pa.schema([schema.field(n) for n in grid_cols])
    seed_schema = pa.schema([schema.field(n) for n in seed_cols])
    with (
        pq.ParquetWriter(grid_out, grid_schema) as gw,
        pq.ParquetWriter(seed_out, seed_schema) as sw,
    ):
        for i in range(reader.num_row_groups):
            try:
                table = reader.read_row_group(i)
            except (pa.ArrowException, OSError) as exc:
                raise PublishError(f"{source} row group {i} is unreadable: {exc}") from None
            gw.write_table(table.select(grid_cols))
            sw.write_table(table.select(seed_cols))


def _make_read_only(folder: Path) -> None:
    for path in folder.iterdir():
        path.chmod(_READ_ONLY_FILE)
    folder.chmod(_READ_ONLY_DIR)


def _agent_names(agents: Iterable[str]) -> list[str]:
    """Validated agent names, in order, each once."""
    return list(dict.fromkeys(check_name("agent name", a) for a in agents))


def _add_agent(paths: DatasetPaths, name: str, experiments: Path | None = None) -> Path:
    """Create ``name``'s workspace under ``experiments`` (default: the dataset's own folder; a
    temp folder that will be renamed to it while publishing)."""
    experiments = experiments or paths.experiments
    workspace = experiments / "agents" / name
    workspace.parent.mkdir(parents=True, exist_ok=True)
    try:
        workspace.mkdir()  # atomic: a workspace made meanwhile by someone else is refused
    except FileExistsError:
        raise PublishError(
            f"agent {name!r} already has a workspace at {paths.agent(name)}"
        ) from None
    try:
        data = workspace / "data"
        data.mkdir()
        (workspace / "outputs").mkdir()
        # A relative link keeps the dataset valid if the whole lake is moved; it is computed
        # from the final location, so a workspace built in the temp folder points right once
        # renamed.
        target = os.path.relpath(paths.base, paths.agent(name) / "data")
        (data / "base_immutable").symlink_to(target, target_is_directory=True)
        shutil.copyfile(experiments / PROJECTION_SEED_FILE, data / PROJECTION_EXPERIMENT_FILE)
        (data / PROJECTION_EXPERIMENT_FILE).chmod(0o644)
    except BaseException:
        shutil.rmtree(workspace, ignore_errors=True)  # ours, half made
        raise
    return paths.agent(name)


def _check_source(source_dir: Path) -> dict[str, Any]:
    """The source capture's manifest, after checking its three files can be read."""
    for name in (BINS_FILE, BUCKETS_FILE, MANIFEST_FILE):
        if not (source_dir / name).is_file():
            raise PublishError(f"--source-dir {source_dir} has no {name}: expected a capture dir")
    try:
        manifest = read_manifest(source_dir / MANIFEST_FILE)
        for name in (BINS_FILE, BUCKETS_FILE):
            open_parquet(source_dir / name)
    except VPError as exc:
        raise PublishError(f"--source-dir {source_dir} is not a readable capture: {exc}") from None
    return manifest


def publish(source_dir: Path, dataset_id: str, agents: Iterable[str], root: Path) -> DatasetPaths:
    """Publish a capture directory as ``dataset_id`` with workspaces for ``agents`` (repeats
    count once); refuses an id that already exists. All or nothing: on any error nothing is
    left behind."""
    source_dir = Path(source_dir).expanduser().resolve()
    names = _agent_names(agents)
    paths = dataset_paths(root, dataset_id)
    for p in (paths.base, paths.experiments):
        if p.exists() or p.is_symlink():
            raise PublishError(
                f"dataset id {dataset_id!r} is already published ({p} exists): datasets are "
                "immutable; choose a new --dataset-id"
            )
    manifest = _check_source(source_dir)
    for p in (paths.base.parent, paths.experiments.parent):
        p.mkdir(parents=True, exist_ok=True)
    base_tmp = staging_dir(f".{dataset_id}.tmp-", paths.base.parent)
    exp_tmp = staging_dir(f".{dataset_id}.tmp-", paths.experiments.parent)
    renamed: list[Path] = []
    try:
        shutil.copyfile(source_dir / BINS_FILE, base_tmp / BINS_FILE)
        manifest["published"] = {"dataset_id": dataset_id, "source_dir": str(source_dir)}
        (base_tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
        _split_buckets(
            source_dir / BUCKETS_FILE, base_tmp / GRID_CLEAN_FILE, exp_tmp / PROJECTION_SEED_FILE
        )
        sums = {
            "algorithm": "sha256",
            "files": {name: sha256_file(base_tmp / name) for name in IMMUTABLE_FILES},
        }
        (base_tmp / CHECKSUMS_FILE).write_text(json.dumps(sums, indent=2) + "\n")
        for name in names:
            _add_agent(paths, name, exp_tmp)
        _make_read_only(base_tmp)
        base_tmp.rename(paths.base)
        renamed.append(paths.base)
        exp_tmp.rename(paths.experiments)
    except BaseException:
        for p in (base_tmp, exp_tmp, *renamed):
            _remove_tree(p)
        raise
    logger.info("published %s: base %s, experiments %s", dataset_id, paths.base, paths.experiments)
    return paths


def _remove_tree(folder: Path) -> None:
    """Remove ``folder`` even when it was made read-only."""
    if folder.is_dir():
        folder.chmod(0o755)
        for p in folder.iterdir():
            if not p.is_symlink():
                p.chmod(0o755 if p.is_dir() else 0o644)
    shutil.rmtree(folder, ignore_errors=True)


def add_agents(dataset_id: str, agents: Iterable[str], root: Path) -> list[Path]:
    """Add agent workspaces to a published dataset (repeats count once); the immutable base is
    not touched. All or nothing: any bad or existing name refuses the whole list."""
    names = _agent_names(agents)
    if not names:
        raise PublishError("--agents '' is invalid: expected at least one agent name")
    paths = dataset_paths(root, dataset_id)
    if not paths.base.is_dir() or not (paths.experiments / PROJECTION_SEED_FILE).is_file():
        raise PublishError(f"dataset id {dataset_id!r} is not published under {root}")
    taken = [n for n in names if paths.agent(n).exists() or paths.agent(n).is_symlink()]
    if taken:
        raise PublishError(
            f"agents {taken} already have workspaces in {dataset_id!r}: nothing was added; "
            "expected only new agent names"
        )
    created: list[Path] = []
    try:
        for name in names:
            created.append(_add_agent(paths, name))  # noqa: PERF401 (one by one: see except)
    except BaseException:
        for workspace in created:  # only what this call made
            shutil.rmtree(workspace, ignore_errors=True)
        raise
    return created


def verify(dataset_id: str, root: Path) -> list[str]:
    """Re-check the base's SHA-256 checksums; returns the problems (empty when intact)."""
    paths = dataset_paths(root, dataset_id)
    sums_path = paths.base / CHECKSUMS_FILE
    if not sums_path.is_file():
        raise PublishError(f"dataset id {dataset_id!r} has no {CHECKSUMS_FILE} in {paths.base}")
    expected = json.loads(sums_path.read_text())["files"]
    problems = []
    for name, digest in sorted(expected.items()):
        path = paths.base / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif sha256_file(path) != digest:
            problems.append(f"{name}: checksum mismatch (file was modified)")
    extra = {p.name for p in paths.base.iterdir()} - set(expected) - {CHECKSUMS_FILE}
    problems.extend(f"{name}: unexpected file in the immutable base" for name in sorted(extra))
    return problems
