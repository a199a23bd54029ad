"""The seed's module for the serve-path stream: ``stream_events(lake_root, config, dt,
start_time)`` yields ``ServeBin`` frames (the ``2R+1`` rows around spot, every SPEC 8 column).

The pipeline itself is ``pipeline.serve.ServePipeline``; the server streams the same frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .config import InstrumentConfig
from .pipeline.frames import ServeBin
from .pipeline.replay import serve_bins
from .spectrum import ProjectionModel


def stream_events(
    lake_root: Path | None,
    config: InstrumentConfig,
    dt: str,
    start_time: str,
    *,
    projection: ProjectionModel | None = None,
    fail_on_out_of_range: bool = False,
) -> Iterator[ServeBin]:
    """Serve-path bins of ``dt`` from ``start_time`` (ET) to the end of the file."""
    return serve_bins(
        config,
        dt,
        start_time,
        root=lake_root,
        projection=projection,
        fail_on_out_of_range=fail_on_out_of_range,
    )
