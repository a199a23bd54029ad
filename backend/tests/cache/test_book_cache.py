"""Book cache: bit-identical restart on the real ESH4 file; stale and corrupt files rebuilt."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from testdata import golden_lake
from vacuum_pressure.cache.store import (
    CacheKey,
    book_cache_path,
    load_book_cache,
    raw_file_identity,
)
from vacuum_pressure.config import load_config
from vacuum_pressure.pipeline.replay import serve_bins
from vacuum_pressure.pipeline.serve import ServePipeline
from vacuum_pressure.serve.params import parse_stream_params
from vacuum_pressure.serve.session import ReplaySession, SessionOptions
from vacuum_pressure.serve.telemetry import BinTimings, LatencyRecorder
from vacuum_pressure.source import open_replay

DT, START = "2023-12-25", "18:00"


@pytest.fixture(scope="module")
def esh4(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("lake")
    ref = golden_lake(root)
    return root, load_config(ref / "instrument.esh4.yaml")


def _session(root: Path, config) -> ReplaySession:
    params = parse_stream_params(
        {
            "product_type": "future_mbo",
            "symbol": "ESH4",
            "dt": DT,
            "start_time": START,
            "speed": "0",
        }
    )
    source = open_replay(config, DT, root)
    return ReplaySession(config, params, source, SessionOptions(lake_root=root), lambda _: None)


def _key(root: Path, config) -> CacheKey:
    path = open_replay(config, DT, root).path
    return CacheKey("future_mbo", "ESH4", DT, START, raw_file_identity(path), config.config_version)


def test_run_from_book_cache_is_bit_identical(esh4) -> None:
    root, config = esh4
    _session(root, config).build_book_cache()
    cached = load_book_cache(root, _key(root, config))
    assert cached is not None
    state, position = cached
    assert position > 0
    pipeline = ServePipeline(config, DT, START)
    pipeline.restore_book(state)

    def resumed():
        skip = position
        for chunk in open_replay(config, DT, root).iter_chunks():
            if skip >= len(chunk):
                skip -= len(chunk)
                continue
            chunk, skip = chunk[skip:], 0
            yield from pipeline.feed(chunk)

    fresh = islice(serve_bins(config, DT, START, root=root), 300)
    for a, b in zip(fresh, islice(resumed(), 300), strict=True):
        assert a.header == b.header
        for name, col in a.columns().items():
            assert np.array_equal(col.view(np.uint8), b.columns()[name].view(np.uint8)), name


def test_stale_and_corrupt_caches_are_discarded_and_rebuilt(esh4) -> None:
    root, config = esh4
    key = _key(root, config)
    _session(root, config).build_book_cache()
    path = book_cache_path(root, key)
    good = path.read_bytes()

    stale = CacheKey("future_mbo", "ESH4", DT, START, key.raw, "000000000000")
    assert load_book_cache(root, stale) is None  # other config_version: stale
    assert not path.exists()  # logged and deleted, never used

    data = bytearray(good)
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert load_book_cache(root, key) is None  # checksum or zip structure fails
    assert not path.exists()

    path.write_bytes(good[:100])
    assert load_book_cache(root, key) is None  # truncated

    data = bytearray(good)
    data[data.find(b"PK\x01\x02") + 10] = 99  # an unknown zip compression method
    path.write_bytes(bytes(data))
    assert load_book_cache(root, key) is None  # (NotImplementedError from zipfile)
    assert not path.exists()

    data = bytearray(good)
    data[data.find(b"{'descr'")] = ord("(")  # a .npy header that does not parse
    path.write_bytes(bytes(data))
    assert load_book_cache(root, key) is None
    assert not path.exists()
    _session(root, config).build_book_cache()  # rebuilt
    assert load_book_cache(root, key) is not None


def test_latency_jsonl_fields_and_window(tmp_path: Path) -> None:
    from vacuum_pressure.pipeline.frames import BinHeader

    out = tmp_path / "lat.jsonl"
    rec = LatencyRecorder(out, window_start_ns=1_000, window_end_ns=2_000, summary_every=1)
    for start in (800, 900, 1_950, 2_000):  # [800,900) out, [900,1000) out, overlap, out
        header = BinHeader(7, start, start + 100, 3, 42, 1.0, 4, 2, 6, True)
        rec.record(header, BinTimings(0, 1_000, 3_000, 3_500, 4_000), session=1)
    header = BinHeader(8, 950, 1_050, 0, 42, 1.0, 4, 2, 6, True)  # straddles the start: in
    rec.record(header, BinTimings(0, 1_000, 3_000, 3_500, 4_000), session=1)
    rec.close()
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["bin_start_ns"] for line in lines] == [1_950, 950]
    assert lines[0] == {
        "session": 1,
        "bin_seq": 7,
        "bin_start_ns": 1_950,
        "bin_end_ns": 2_050,
        "bin_event_count": 3,
        "event_id": 42,
        "first_ingest_to_grid_ready_us": 3.0,
        "last_ingest_to_grid_ready_us": 2.0,
        "grid_ready_to_queue_put_done_us": 1.0,
        "first_ingest_to_queue_put_done_us": 4.0,
        "last_ingest_to_queue_put_done_us": 3.0,
        "queue_block_us": 0.5,
    }
    assert rec.percentiles() == (3.0, 3.0, 3.0)
