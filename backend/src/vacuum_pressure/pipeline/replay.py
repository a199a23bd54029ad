"""Pipelines over a day's raw file in the lake: the entry points scripts and the server use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..config import InstrumentConfig
from ..source import open_replay
from ..spectrum import ProjectionModel
from .core import CorePipeline, stream_core_events
from .frames import CoreBin, ServeBin
from .serve import ServePipeline, iter_serve_bins


def _chunks(
    config: InstrumentConfig, dt: str, root: Path | None, fix_reference_defects: bool
) -> Iterator[np.ndarray]:
    """The day's records in chunks (the fix switch also makes the instrument filter strict)."""
    source = open_replay(config, dt, root, strict_instrument_filter=fix_reference_defects)
    return source.iter_chunks()


def serve_bins(
    config: InstrumentConfig,
    dt: str,
    start_time: str,
    *,
    root: Path | None = None,
    projection: ProjectionModel | None = None,
    fix_reference_defects: bool = False,
    fail_on_out_of_range: bool = False,
) -> Iterator[ServeBin]:
    """Serve-path bins for ``dt`` from ``start_time`` (ET) to the end of the day's file."""
    pipeline = ServePipeline(
        config,
        dt,
        start_time,
        projection=projection,
        fix_reference_defects=fix_reference_defects,
        fail_on_out_of_range=fail_on_out_of_range,
    )
    yield from iter_serve_bins(pipeline, _chunks(config, dt, root, fix_reference_defects))


def core_bins(
    config: InstrumentConfig,
    dt: str,
    start_time: str,
    *,
    root: Path | None = None,
    fix_reference_defects: bool = False,
    fail_on_out_of_range: bool = False,
) -> Iterator[CoreBin]:
    """Core-path bins (full grid, views valid until the next bin) for ``dt`` from ``start_time``."""
    pipeline = CorePipeline(
        config,
        dt,
        start_time,
        fix_reference_defects=fix_reference_defects,
        fail_on_out_of_range=fail_on_out_of_range,
    )
    yield from stream_core_events(pipeline, _chunks(config, dt, root, fix_reference_defects))
