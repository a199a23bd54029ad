"""The module paths the seed README names keep working: core_pipeline.stream_core_events,
stream_pipeline, event_engine and server."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import numpy as np

from vacuum_pressure.config import load_config
from vacuum_pressure.lake import raw_file_name, raw_mbo_dir
from vacuum_pressure.pipeline.replay import core_bins, serve_bins
from vacuum_pressure.source.synthetic import generate_day

DT = "2026-02-06"


def test_seed_module_paths(tmp_path: Path) -> None:
    from vacuum_pressure import event_engine, server
    from vacuum_pressure.core_pipeline import stream_core_events
    from vacuum_pressure.engine import AbsoluteTickEngine
    from vacuum_pressure.serve import create_app
    from vacuum_pressure.stream_pipeline import stream_events

    assert event_engine.AbsoluteTickEngine is AbsoluteTickEngine
    assert server.create_app is create_app
    folder = raw_mbo_dir(tmp_path, "future_mbo", "MNQ")
    generate_day(
        folder / raw_file_name("future_mbo", "20260206"), dt=DT, start_et="08:55", end_et="09:01"
    )
    config = load_config()
    seed_bins = [
        (b.header, b.fields.copy()) for b in stream_core_events(tmp_path, config, DT, "09:00")
    ]
    ours = [(b.header, b.fields.copy()) for b in core_bins(config, DT, "09:00", root=tmp_path)]
    assert len(seed_bins) == len(ours) > 500
    for (h1, f1), (h2, f2) in zip(seed_bins, ours, strict=True):
        assert h1 == h2 and np.array_equal(f1, f2)
    for a, b in zip(
        islice(stream_events(tmp_path, config, DT, "09:00"), 50),
        islice(serve_bins(config, DT, "09:00", root=tmp_path), 50),
        strict=True,
    ):
        assert a.header == b.header and np.array_equal(a.fields, b.fields)
