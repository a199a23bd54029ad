"""A bin series in memory for analysis: per-bin arrays plus (n_bins, rows) cell matrices.

Built from a capture directory, a published dataset, or the pipeline's frames directly; every
route yields the same arrays, so the analysis gives the same numbers whatever its input.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..config import InstrumentConfig
from ..errors import VPError
from ..pipeline.frames import WIRE_FLOAT_FIELDS, ServeBin, projection_column_names
from .capture import BINS_FILE, BUCKETS_FILE, MANIFEST_FILE
from .files import read_manifest, read_parquet
from .publish import GRID_CLEAN_FILE, PROJECTION_SEED_FILE, dataset_paths

CELL_FIELDS = ("pressure_variant", "vacuum_variant", "v_add", "v_pull", "v_fill")
"""Engine columns the analysis reads."""


@dataclass(frozen=True)
class Geometry:
    """What the analysis needs to know about the grid (ms, dollars, price_int)."""

    cell_width_ms: int
    tick_size: float
    tick_int: int
    horizons_bins: tuple[int, ...]
    horizons_ms: tuple[int, ...]
    threshold_neutral: float = 0.15

    @classmethod
    def from_config(cls, config: InstrumentConfig) -> Geometry:
        """The geometry of the locked config."""
        return cls(
            config.cell_width_ms,
            config.tick_size,
            config.tick_int,
            tuple(config.projection_horizons_bins),
            tuple(config.projection_horizons_ms),
            config.spectrum_threshold_neutral,
        )

    @classmethod
    def from_manifest(cls, manifest: dict, config: InstrumentConfig | None = None) -> Geometry:
        """The geometry recorded in a capture's manifest; the tick comes from ``config`` when the
        manifest predates it (the reference system's manifests have no tick)."""
        try:
            if "tick_size" in manifest or config is None:
                tick_size = float(manifest["tick_size"])
                tick_int = int(manifest.get("tick_int", round(tick_size / 1e-9)))
            else:
                tick_size, tick_int = config.tick_size, config.tick_int
            return cls(
                int(manifest["cell_width_ms"]),
                tick_size,
                tick_int,
                tuple(manifest["projection_horizons_bins"]),
                tuple(manifest["projection_horizons_ms"]),
                float(manifest.get("spectrum_threshold_neutral", 0.15)),
            )
        except KeyError as exc:
            raise VPError(f"capture manifest lacks {exc}: recapture with this version") from None


@dataclass(frozen=True)
class BinSeries:
    """Bins in time order: per-bin arrays (n,) and cell matrices (n, rows), rows in ``k`` order."""

    geometry: Geometry
    ts_ns: np.ndarray
    bin_seq: np.ndarray
    mid_price: np.ndarray
    spot_ref_price_int: np.ndarray
    book_valid: np.ndarray
    k: np.ndarray
    cells: dict[str, np.ndarray]
    score: np.ndarray
    projections: np.ndarray  # (n_horizons, n, rows)

    @property
    def n(self) -> int:
        """Number of bins."""
        return int(self.ts_ns.shape[0])

    def window(self, start_ns: int | None, end_ns: int | None) -> BinSeries:
        """Bins with ``start_ns <= ts_ns < end_ns`` (ns; None = open)."""
        keep = np.ones(self.n, dtype=bool)
        if start_ns is not None:
            keep &= self.ts_ns >= start_ns
        if end_ns is not None:
            keep &= self.ts_ns < end_ns
        return BinSeries(
            self.geometry,
            self.ts_ns[keep],
            self.bin_seq[keep],
            self.mid_price[keep],
            self.spot_ref_price_int[keep],
            self.book_valid[keep],
            self.k,
            {name: m[keep] for name, m in self.cells.items()},
            self.score[keep],
            self.projections[:, keep],
        )


def from_frames(frames: Iterable[ServeBin], geometry: Geometry) -> BinSeries:
    """Collect pipeline frames (already limited to the wanted window)."""
    heads, fields, scores, projs = [], [], [], []
    k: np.ndarray | None = None
    rows = [WIRE_FLOAT_FIELDS.index(f) for f in CELL_FIELDS]
    for frame in frames:
        heads.append(frame.header)
        fields.append(frame.fields[rows])
        scores.append(frame.spectrum_score)
        projs.append(frame.projections)
        k = frame.k
    if k is None:
        raise VPError("no bins to analyse: the data or the window is empty")
    f = np.stack(fields, axis=1)  # (n_fields, n, rows)
    return BinSeries(
        geometry,
        np.array([h.ts_ns for h in heads], np.int64),
        np.array([h.bin_seq for h in heads], np.int64),
        np.array([h.mid_price for h in heads], np.float64),
        np.array([h.spot_ref_price_int for h in heads], np.int64),
        np.array([h.book_valid for h in heads], bool),
        k.astype(np.int64),
        {name: f[i] for i, name in enumerate(CELL_FIELDS)},
        np.stack(scores),
        np.stack(projs, axis=1),
    )


def _matrix(table: pa.Table, name: str, n: int) -> np.ndarray:
    return table.column(name).to_numpy().reshape(n, -1)


def _from_tables(geometry: Geometry, bins: pa.Table, grid: pa.Table, proj: pa.Table) -> BinSeries:
    n = bins.num_rows
    if n == 0:
        raise VPError("no bins to analyse: the dataset is empty")
    if grid.num_rows % n != 0:
        raise VPError(f"{grid.num_rows} bucket rows do not split into {n} bins of equal rows")
    proj_names = projection_column_names(geometry.horizons_ms)
    for table, names, what in (
        (bins, ("ts_ns", "bin_seq", "mid_price", "spot_ref_price_int", "book_valid"), "bins"),
        (proj, proj_names, "projection"),
    ):
        missing = [c for c in names if c not in table.column_names]
        if missing:
            raise VPError(f"the {what} table lacks columns {missing}: is it a capture's?")
    k = _matrix(grid, "k", n)
    return BinSeries(
        geometry,
        bins.column("ts_ns").to_numpy(),
        bins.column("bin_seq").to_numpy(),
        bins.column("mid_price").to_numpy(),
        bins.column("spot_ref_price_int").to_numpy(),
        bins.column("book_valid").to_numpy(zero_copy_only=False),
        k[0].astype(np.int64),
        {name: _matrix(grid, name, n) for name in CELL_FIELDS},
        _matrix(grid, "spectrum_score", n),
        np.stack([_matrix(proj, name, n) for name in proj_names]),
    )


def load_capture(folder: Path, config: InstrumentConfig | None = None) -> BinSeries:
    """A capture directory written by ``cache_vp_output.py`` (or the reference system); the tick
    comes from ``config`` when the manifest has none."""
    folder = Path(folder)
    for name in (BINS_FILE, BUCKETS_FILE, MANIFEST_FILE):
        if not (folder / name).is_file():
            raise VPError(f"capture dir {folder} has no {name}")
    geometry = Geometry.from_manifest(read_manifest(folder / MANIFEST_FILE), config)
    cols = ["k", *CELL_FIELDS, "spectrum_score"]
    proj = projection_column_names(geometry.horizons_ms)
    bins = read_parquet(folder / BINS_FILE)
    cells = read_parquet(folder / BUCKETS_FILE, cols + proj)
    return _from_tables(geometry, bins, cells, cells)


def load_published(
    root: Path, dataset_id: str, config: InstrumentConfig | None = None
) -> BinSeries:
    """A published dataset: the immutable base plus the experiment store's projection seed; the
    tick comes from ``config`` when the manifest has none (reference-format captures)."""
    paths = dataset_paths(root, dataset_id)
    if not (paths.base / MANIFEST_FILE).is_file():
        raise VPError(f"dataset id {dataset_id!r} is not published under {root}")
    geometry = Geometry.from_manifest(read_manifest(paths.base / MANIFEST_FILE), config)
    bins = read_parquet(paths.base / BINS_FILE)
    grid = read_parquet(paths.base / GRID_CLEAN_FILE, ["k", *CELL_FIELDS, "spectrum_score"])
    proj = read_parquet(paths.experiments / PROJECTION_SEED_FILE)
    return _from_tables(geometry, bins, grid, proj)
