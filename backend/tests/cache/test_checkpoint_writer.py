"""Checkpoints written off the producer thread, and the cache size/age bound."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from vacuum_pressure.cache.cli import clean_main
from vacuum_pressure.cache.store import (
    CacheKey,
    CheckpointStore,
    CheckpointWriter,
    RawFileIdentity,
    prune_cache,
)

N_CELLS = 16


def _store(root: Path) -> CheckpointStore:
    key = CacheKey(
        "future_mbo", "MNQH6", "2026-02-06", "09:00", RawFileIdentity("x", 1, 2, "ab"), "v1"
    ).with_projection(False, 1 / 6, 0.0)
    template = {"a": {"dense": np.zeros((2, N_CELLS))}, "clock": np.zeros(4, dtype=np.int64)}
    return CheckpointStore(root, key, template, N_CELLS)


def _state(seq: int) -> dict[str, Any]:
    dense = np.zeros((2, N_CELLS))
    dense[1, 3] = seq
    return {"a": {"dense": dense}, "clock": np.array([2, seq, 0, 0], dtype=np.int64)}


def test_writer_writes_in_the_background_and_the_store_reads_it(tmp_path: Path) -> None:
    store = _store(tmp_path)
    writer = CheckpointWriter(tmp_path, max_bytes=None)
    assert writer.submit(store, 600, 1_000, 77, _state(600))
    assert writer.submit(store, 1200, 2_000, 99, _state(1200))
    writer.flush()
    assert writer.written == 2 and writer.dropped == 0
    assert store.starts() == [1_000, 2_000]
    cp = store.nearest(1_999)
    assert cp is not None
    assert (cp.bin_seq, cp.bin_start_ns, cp.position) == (600, 1_000, 77)
    assert cp.state["a"]["dense"][1, 3] == 600.0
    assert list(cp.state["clock"]) == [2, 600, 0, 0]
    # Atomic writes: no temp file is left behind.
    assert sorted(p.name for p in store.folder.iterdir()) == [
        "bin_000000600_1000.npz",
        "bin_000001200_2000.npz",
        "key.json",
    ]
    thread = writer._thread
    assert thread is not None and thread.name == "vp-checkpoint-writer"
    writer.close()
    assert not thread.is_alive()


def test_an_unreadable_key_file_rebuilds_the_store(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.save(600, 1_000, 77, _state(600))
    (store.folder / "key.json").write_text('{"p')  # truncated by a crash
    again = _store(tmp_path)
    assert again.starts() == []  # its checkpoints could belong to another key: dropped
    assert json.loads((again.folder / "key.json").read_text()) == again.key.as_json()
    assert sorted(p.name for p in again.folder.iterdir()) == ["key.json"]


def test_stores_opened_at_once_do_not_race_on_the_key_file(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def open_many() -> None:
        for _ in range(40):
            try:
                _store(tmp_path)
            except BaseException as exc:  # collected for the assertion
                errors.append(exc)

    for _ in range(5):  # each round starts without a key file, as a first session does
        for p in _store(tmp_path).folder.iterdir():
            p.unlink()
        threads = [threading.Thread(target=open_many) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert sorted(p.name for p in _store(tmp_path).folder.iterdir()) == ["key.json"]


class _SlowStore:
    """Stands in for a CheckpointStore whose writes take until ``go`` is set."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.go = threading.Event()
        self.saved: list[int] = []

    def save(self, bin_seq: int, *_: Any) -> Path:
        self.started.set()
        self.go.wait(10)
        self.saved.append(bin_seq)
        return Path("/nonexistent")


def test_submit_never_blocks_and_drops_when_the_queue_is_full(tmp_path: Path) -> None:
    slow = _SlowStore()
    writer = CheckpointWriter(tmp_path, max_pending=1, max_bytes=None)
    assert writer.submit(slow, 1, 0, 0, {})  # type: ignore[arg-type]
    assert slow.started.wait(10)  # the thread is inside the first write
    assert writer.submit(slow, 2, 0, 0, {})  # type: ignore[arg-type]  # queued
    assert not writer.submit(slow, 3, 0, 0, {})  # type: ignore[arg-type]  # full: dropped
    slow.go.set()
    writer.flush()
    assert slow.saved == [1, 2]
    assert (writer.written, writer.dropped) == (2, 1)
    writer.close()


def _file(path: Path, size: int, age_s: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    t = time.time() - age_s
    os.utime(path, (t, t))
    return path


def test_prune_deletes_oldest_checkpoints_first_and_spares_book_caches(tmp_path: Path) -> None:
    cp = tmp_path / "cache" / "checkpoints" / "future_mbo" / "K_1"
    old = _file(cp / "bin_1.npz", 100, 300)
    mid = _file(cp / "bin_2.npz", 100, 200)
    new = _file(cp / "bin_3.npz", 100, 100)
    book = _file(tmp_path / "cache" / "book" / "future_mbo" / "B.npz", 500, 400)
    tmp_old = _file(cp / ".bin_4.npz.abc.tmp", 50, 7200)
    tmp_new = _file(cp / ".bin_5.npz.abc.tmp", 50, 10)
    result = prune_cache(tmp_path, max_bytes=150, keep=old)
    # old is kept (just written), so mid then new go; the stale temp file goes too.
    assert (result.removed_files, result.freed_bytes, result.kept_bytes) == (3, 250, 100)
    assert [p.exists() for p in (old, mid, new, book, tmp_old, tmp_new)] == [
        True,
        False,
        False,
        True,
        False,
        True,
    ]
    result = prune_cache(tmp_path, max_age_s=350)
    assert (result.removed_files, result.freed_bytes) == (1, 500)
    assert not book.exists() and old.exists()


def test_clean_command_all(tmp_path: Path) -> None:
    cp = tmp_path / "cache" / "checkpoints" / "future_mbo" / "K_1"
    _file(cp / "bin_1.npz", 100, 10)
    _file(tmp_path / "cache" / "book" / "future_mbo" / "B.npz", 100, 10)
    assert clean_main(["--lake-root", str(tmp_path), "--all"]) == 0
    assert list(tmp_path.rglob("*.npz")) == []
