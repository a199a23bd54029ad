"""The seed's module for the core path: ``stream_core_events(lake_root, config, dt, start_time)``.

The pipeline itself is ``pipeline.core.CorePipeline`` (incremental: feed record chunks); this
keeps the call the seed names. Each bin is a ``CoreBin``: ``header`` (``bin_seq``,
``bin_start_ns``, ``bin_end_ns``, ``bin_event_count``, ``event_id``, top of book, ...),
``fields`` (18 x ``n_absolute_ticks``, rows in ``engine.kernels.FIELD_NAMES`` order),
``last_event_id`` and ``anchor_tick_idx``: typed columns, no dicts per cell. Its arrays are
views valid until the next bin: copy what you keep.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .config import InstrumentConfig
from .pipeline.frames import CoreBin
from .pipeline.replay import core_bins


def stream_core_events(
    lake_root: Path | None,
    config: InstrumentConfig,
    dt: str,
    start_time: str,
    *,
    fail_on_out_of_range: bool = False,
    fix_reference_defects: bool = False,
) -> Iterator[CoreBin]:
    """Full-grid core-path bins of ``dt`` from ``start_time`` (ET) to the end of the file
    (``lake_root`` None: the default lake)."""
    return core_bins(
        config,
        dt,
        start_time,
        root=lake_root,
        fail_on_out_of_range=fail_on_out_of_range,
        fix_reference_defects=fix_reference_defects,
    )
