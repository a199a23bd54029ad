"""Capture of the serve-path output for an ET window into Parquet (SPEC 10).

A capture directory holds ``bins.parquet`` (one row per bin, ``BIN_COLUMNS``),
``buckets.parquet`` (one row per bin x k: the bin columns, then ``k``, ``spectrum_state_code``,
``last_event_id`` and every float column; the reference capture's exact order and dtypes) and
``manifest.json``. It is written into a hidden temporary directory beside the target and renamed
into place, so an interrupted capture leaves nothing behind.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..config import InstrumentConfig
from ..errors import VPError
from ..pipeline.frames import BIN_COLUMNS, WIRE_FLOAT_FIELDS, ServeBin, projection_column_names
from ..spectrum import ProjectionModel
from ..timeutil import et_to_ns, parse_clock
from .files import staging_dir

logger = logging.getLogger(__name__)

BINS_FILE = "bins.parquet"
BUCKETS_FILE = "buckets.parquet"
MANIFEST_FILE = "manifest.json"

BATCH_BINS = 600
"""Bins per Parquet row group (60 s of 100 ms bins: about 60k bucket rows)."""

_BIN_TYPES: dict[str, pa.DataType] = {
    "ts_ns": pa.int64(),
    "bin_seq": pa.int64(),
    "bin_start_ns": pa.int64(),
    "bin_end_ns": pa.int64(),
    "bin_event_count": pa.int64(),
    "event_id": pa.int64(),
    "mid_price": pa.float64(),
    "spot_ref_price_int": pa.int64(),
    "best_bid_price_int": pa.int64(),
    "best_ask_price_int": pa.int64(),
    "book_valid": pa.bool_(),
}
_BIN_NUMPY = {name: t.to_pandas_dtype() for name, t in _BIN_TYPES.items()}


class CaptureError(VPError, ValueError):
    """A capture request is invalid or its output cannot be written."""


def bins_schema() -> pa.Schema:
    """Schema of ``bins.parquet``."""
    return pa.schema([(name, _BIN_TYPES[name]) for name in BIN_COLUMNS])


def cell_float_columns(horizons_ms: tuple[int, ...]) -> list[str]:
    """Float per-cell columns of ``buckets.parquet``, in file order."""
    return [*WIRE_FLOAT_FIELDS, "spectrum_score", *projection_column_names(horizons_ms)]


def buckets_schema(horizons_ms: tuple[int, ...]) -> pa.Schema:
    """Schema of ``buckets.parquet``: bin columns, k, state, last_event_id, then the floats."""
    fields = [(name, _BIN_TYPES[name]) for name in BIN_COLUMNS]
    fields += [("k", pa.int32()), ("spectrum_state_code", pa.int8()), ("last_event_id", pa.int64())]
    fields += [(name, pa.float64()) for name in cell_float_columns(horizons_ms)]
    return pa.schema(fields)


@dataclass(frozen=True)
class CaptureWindow:
    """A validated ET capture window ``[start_ns, end_ns)`` on bin ``ts_ns`` (the bin end)."""

    dt: str
    start_et: str
    end_et: str
    start_ns: int
    end_ns: int

    @property
    def stream_start_hhmm(self) -> str:
        """The stream start (``HH:MM``) the pipeline is run from: the capture start's minute."""
        return self.start_et[:5]


def capture_window(dt: str, start_et: str, end_et: str) -> CaptureWindow:
    """Validate a capture window; the start must lie on a minute (``HH:MM`` or ``HH:MM:00``)."""
    start = parse_clock(start_et, name="capture_start_et")
    parse_clock(end_et, name="capture_end_et")
    if start.second != 0:
        raise CaptureError(
            f"capture_start_et {start_et!r} is not aligned to a minute: expected HH:MM:00 "
            "(the stream's warmup and start are minute-based)"
        )
    start_ns = et_to_ns(dt, start_et, name="capture_start_et")
    end_ns = et_to_ns(dt, end_et, name="capture_end_et")
    if end_ns <= start_ns:
        raise CaptureError(
            f"capture_end_et {end_et!r} must be after capture_start_et {start_et!r} on {dt}"
        )
    return CaptureWindow(dt, start.strftime("%H:%M:%S"), end_et, start_ns, end_ns)


def frames_between(
    frames: Iterable[ServeBin], start_ns: int | None, end_ns: int | None
) -> Iterator[ServeBin]:
    """Frames with ``start_ns <= ts_ns < end_ns`` (ns; None = open); stops consuming at the first
    bin past the end."""
    for frame in frames:
        ts = frame.header.ts_ns
        if end_ns is not None and ts >= end_ns:
            return
        if start_ns is None or ts >= start_ns:
            yield frame


class _Batch:
    """Accumulates frames and turns them into Arrow tables column by column (no per-row dicts)."""

    def __init__(self, horizons_ms: tuple[int, ...]) -> None:
        self.horizons_ms = horizons_ms
        self.frames: list[ServeBin] = []

    def tables(self) -> tuple[pa.Table, pa.Table]:
        frames = self.frames
        rows = frames[0].k.shape[0]
        for f in frames:
            if f.k.shape[0] != rows:
                raise CaptureError(
                    f"bin {f.header.bin_seq} has {f.k.shape[0]} rows, expected {rows} (2R+1)"
                )
        heads = [f.header for f in frames]
        bin_cols = {
            name: np.array([getattr(h, name) for h in heads], dtype=_BIN_NUMPY[name])
            for name in BIN_COLUMNS
        }
        bins = pa.Table.from_arrays(
            [pa.array(bin_cols[n]) for n in BIN_COLUMNS], schema=bins_schema()
        )
        cell: list[pa.Array] = [pa.array(np.repeat(bin_cols[n], rows)) for n in BIN_COLUMNS]
        cell.append(pa.array(np.concatenate([f.k for f in frames]).astype(np.int32, copy=False)))
        cell.append(
            pa.array(
                np.concatenate([f.spectrum_state_code for f in frames]).astype(np.int8, copy=False)
            )
        )
        cell.append(
            pa.array(np.concatenate([f.last_event_id for f in frames]).astype(np.int64, copy=False))
        )
        fields = np.concatenate([f.fields for f in frames], axis=1)
        cell.extend(pa.array(fields[i]) for i in range(fields.shape[0]))
        cell.append(pa.array(np.concatenate([f.spectrum_score for f in frames])))
        proj = np.concatenate([f.projections for f in frames], axis=1)
        cell.extend(pa.array(proj[i]) for i in range(proj.shape[0]))
        buckets = pa.Table.from_arrays(cell, schema=buckets_schema(self.horizons_ms))
        return bins, buckets


@dataclass(frozen=True)
class CaptureResult:
    """What a capture wrote."""

    output_dir: Path
    bins: int
    buckets: int
    elapsed_seconds: float
    manifest: dict[str, Any]


ProgressFn = Callable[[int, int], None]
"""Called with (bins written, ts_ns of the last bin) after every batch."""


def write_capture(
    frames: Iterable[ServeBin],
    output_dir: Path,
    window: CaptureWindow,
    manifest_fields: dict[str, Any],
    horizons_ms: tuple[int, ...],
    *,
    force: bool = False,
    progress: ProgressFn | None = None,
    batch_bins: int = BATCH_BINS,
) -> CaptureResult:
    """Write ``frames`` within ``window`` to ``output_dir`` atomically (temp dir + rename).

    ``manifest_fields`` are the run parameters; the row counts, first/last ``ts_ns`` (ns), the
    elapsed time and the output file names are added here. Refuses an existing ``output_dir``
    unless ``force``; then the old directory is replaced only after the new one is complete.
    """
    output_dir = Path(output_dir).expanduser().resolve()
    if output_dir.exists() and not force:
        raise CaptureError(
            f"output dir {output_dir} already exists: choose a new --output-dir or pass --force"
        )
    if output_dir.exists() and not (output_dir.is_dir() and _replaceable(output_dir)):
        raise CaptureError(
            f"--force replaces only an earlier capture (a folder with {MANIFEST_FILE} and "
            f"{BUCKETS_FILE}) or an empty folder; {output_dir} is neither: choose another "
            "--output-dir"
        )
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tmp = staging_dir(f".{output_dir.name}.tmp-", output_dir.parent)
    try:
        n_bins, first_ts, last_ts, last_event_id = _write_tables(
            frames, tmp, window, horizons_ms, progress, batch_bins
        )
        if n_bins == 0:
            raise CaptureError(
                f"no bins in [{window.start_et}, {window.end_et}) ET on {window.dt}: the data "
                "ends before the window or the window is empty"
            )
        if last_event_id == 0:
            raise CaptureError(
                f"no records in [{window.start_et}, {window.end_et}) ET on {window.dt} or "
                "before it: the data starts after the window (its bins would all be empty)"
            )
        rows = int(pq.ParquetFile(tmp / BUCKETS_FILE).metadata.num_rows)
        elapsed = time.perf_counter() - t0
        manifest = {
            **manifest_fields,
            "rows": {"bins": n_bins, "buckets": rows},
            "first_bin_ts_ns": first_ts,
            "last_bin_ts_ns": last_ts,
            "elapsed_seconds": elapsed,
            "output": {
                "bins_parquet": BINS_FILE,
                "buckets_parquet": BUCKETS_FILE,
                "manifest_json": MANIFEST_FILE,
            },
            "output_dir": str(output_dir),
            "created_at_utc": datetime.now(UTC).isoformat(),
        }
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
        if output_dir.exists():
            # --force: move the old one aside first so the swap is as short as possible.
            old = output_dir.with_name(f".{output_dir.name}.old-{os.getpid()}")
            output_dir.rename(old)
            tmp.rename(output_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(output_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return CaptureResult(output_dir, n_bins, rows, elapsed, manifest)


def _replaceable(folder: Path) -> bool:
    """An earlier capture (not, e.g., a published dataset: no buckets file) or an empty folder."""
    capture_files = (folder / MANIFEST_FILE).is_file() and (folder / BUCKETS_FILE).is_file()
    return capture_files or not any(folder.iterdir())


def _write_tables(
    frames: Iterable[ServeBin],
    folder: Path,
    window: CaptureWindow,
    horizons_ms: tuple[int, ...],
    progress: ProgressFn | None,
    batch_bins: int,
) -> tuple[int, int | None, int | None, int]:
    """(bins, first and last ts_ns, the last bin's event_id) of the frames written."""
    n_bins = 0
    first_ts: int | None = None
    last_ts: int | None = None
    last_event_id = 0
    batch = _Batch(horizons_ms)
    with (
        pq.ParquetWriter(folder / BINS_FILE, bins_schema()) as bins_writer,
        pq.ParquetWriter(folder / BUCKETS_FILE, buckets_schema(horizons_ms)) as cells_writer,
    ):

        def flush() -> None:
            bins, cells = batch.tables()
            bins_writer.write_table(bins)
            cells_writer.write_table(cells)
            batch.frames.clear()
            if progress is not None and last_ts is not None:
                progress(n_bins, last_ts)

        for frame in frames_between(frames, window.start_ns, window.end_ns):
            if first_ts is None:
                first_ts = frame.header.ts_ns
            last_ts = frame.header.ts_ns
            last_event_id = frame.header.event_id
            batch.frames.append(frame)
            n_bins += 1
            if len(batch.frames) >= batch_bins:
                flush()
        if batch.frames:
            flush()
    return n_bins, first_ts, last_ts, last_event_id


def manifest_fields(
    config: InstrumentConfig,
    window: CaptureWindow,
    projection: ProjectionModel,
    *,
    fix_reference_defects: bool = False,
) -> dict[str, Any]:
    """Run parameters for the manifest (keys of the reference capture's manifest, plus extras)."""
    return {
        "product_type": config.product_type,
        "symbol": config.symbol,
        "dt": window.dt,
        "stream_start_time_hhmm": window.stream_start_hhmm,
        "capture_start_et": window.start_et,
        "capture_end_et": window.end_et,
        "capture_start_ns": window.start_ns,
        "capture_end_ns": window.end_ns,
        "projection_model": asdict(projection),
        "fix_reference_defects": fix_reference_defects,
        "config_version": config.config_version,
        "cell_width_ms": config.cell_width_ms,
        "grid_radius_ticks": config.grid_radius_ticks,
        "n_absolute_ticks": config.n_absolute_ticks,
        "tick_size": config.tick_size,
        "tick_int": config.tick_int,
        "projection_horizons_bins": list(config.projection_horizons_bins),
        "projection_horizons_ms": list(config.projection_horizons_ms),
        "spectrum_threshold_neutral": config.spectrum_threshold_neutral,
    }


class ProgressLogger:
    """Logs bins/s, market-time speed-up and ETA at most every ``every_s`` seconds."""

    def __init__(self, window: CaptureWindow, every_s: float = 5.0) -> None:
        self.window = window
        self.every_s = every_s
        self.t0 = time.perf_counter()
        self.last = self.t0

    def __call__(self, n_bins: int, ts_ns: int) -> None:
        now = time.perf_counter()
        if now - self.last < self.every_s:
            return
        self.last = now
        wall = now - self.t0
        done = max(ts_ns - self.window.start_ns, 1)
        left = max(self.window.end_ns - ts_ns, 0)
        eta = wall * left / done
        logger.info(
            "captured %d bins (%.0f bins/s, %.1fx real time), %.0f%% of the window, ETA %.0f s",
            n_bins,
            n_bins / wall if wall > 0 else 0.0,
            done / 1e9 / wall if wall > 0 else 0.0,
            100.0 * done / (self.window.end_ns - self.window.start_ns),
            eta,
        )


def capture(
    config: InstrumentConfig,
    dt: str,
    capture_start_et: str,
    capture_end_et: str,
    output_dir: Path,
    *,
    root: Path | None = None,
    projection: ProjectionModel | None = None,
    fix_reference_defects: bool = False,
    force: bool = False,
    progress: ProgressFn | None = None,
) -> CaptureResult:
    """Run the serve pipeline from the capture start's minute and capture ``[start, end)`` ET.

    The pipeline is stopped as soon as a bin ends at or after the window end.
    """
    from ..pipeline.replay import serve_bins

    window = capture_window(dt, capture_start_et, capture_end_et)
    model = projection or ProjectionModel()
    if Path(output_dir).expanduser().resolve().exists() and not force:
        # Checked before the (slow) pipeline starts; write_capture checks again.
        raise CaptureError(
            f"output dir {output_dir} already exists: choose a new --output-dir or pass --force"
        )
    frames = serve_bins(
        config,
        dt,
        window.stream_start_hhmm,
        root=root,
        projection=model,
        fix_reference_defects=fix_reference_defects,
    )
    fields = manifest_fields(config, window, model, fix_reference_defects=fix_reference_defects)
    try:
        return write_capture(
            frames,
            output_dir,
            window,
            fields,
            tuple(config.projection_horizons_ms),
            force=force,
            progress=progress if progress is not None else ProgressLogger(window),
        )
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()
