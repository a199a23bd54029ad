"""Producer-latency telemetry (SPEC 10): one JSONL record per emitted bin inside an ET window,
and rolling p50/p95/p99 logged every N bins.

Clock: ``time.perf_counter_ns``. Per bin:

- first/last ingest: when the record slice holding the bin's first/last record was handed to
  the pipeline (the producer feeds records bin by bin, paced, so "ingest" is when the replay
  releases them);
- grid ready: the bin's frame came out of the pipeline (passive advance, spectrum, window cut);
- queue put done: the encoded frame was accepted by the client's bounded send queue;
- queue_block: time spent inside the put (waiting for room when the client reads slowly).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from ..pipeline.frames import BinHeader

logger = logging.getLogger(__name__)

_ROLLING = 10_000
"""Samples kept for the rolling percentiles."""


@dataclass(frozen=True)
class BinTimings:
    """perf_counter_ns stamps of one bin."""

    first_ingest_ns: int
    last_ingest_ns: int
    grid_ready_ns: int
    put_start_ns: int
    put_done_ns: int


def _us(delta_ns: int) -> float:
    return round(delta_ns / 1000.0, 3)


class LatencyRecorder:
    """Writes JSONL records for bins overlapping ``[window_start_ns, window_end_ns)`` (None =
    unbounded) and logs rolling percentiles every ``summary_every`` recorded bins. Thread-safe:
    several client sessions may share one recorder (each record carries its session id)."""

    def __init__(
        self,
        path: Path | None,
        window_start_ns: int | None = None,
        window_end_ns: int | None = None,
        summary_every: int = 200,
    ) -> None:
        self.window_start_ns = window_start_ns
        self.window_end_ns = window_end_ns
        self.summary_every = max(1, summary_every)
        self._lock = threading.Lock()
        self._fh: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self._last_to_put: deque[float] = deque(maxlen=_ROLLING)
        self.recorded = 0

    def in_window(self, header: BinHeader) -> bool:
        """A bin is recorded iff ``[bin_start, bin_end)`` overlaps the window."""
        if self.window_start_ns is not None and header.bin_end_ns <= self.window_start_ns:
            return False
        return self.window_end_ns is None or header.bin_start_ns < self.window_end_ns

    def record(self, header: BinHeader, t: BinTimings, session: int = 0) -> None:
        """Record one bin if it overlaps the window."""
        if not self.in_window(header):
            return
        rec = {
            "session": session,
            "bin_seq": header.bin_seq,
            "bin_start_ns": header.bin_start_ns,
            "bin_end_ns": header.bin_end_ns,
            "bin_event_count": header.bin_event_count,
            "event_id": header.event_id,
            "first_ingest_to_grid_ready_us": _us(t.grid_ready_ns - t.first_ingest_ns),
            "last_ingest_to_grid_ready_us": _us(t.grid_ready_ns - t.last_ingest_ns),
            "grid_ready_to_queue_put_done_us": _us(t.put_done_ns - t.grid_ready_ns),
            "first_ingest_to_queue_put_done_us": _us(t.put_done_ns - t.first_ingest_ns),
            "last_ingest_to_queue_put_done_us": _us(t.put_done_ns - t.last_ingest_ns),
            "queue_block_us": _us(t.put_done_ns - t.put_start_ns),
        }
        with self._lock:
            if self._fh is not None:
                self._fh.write(json.dumps(rec) + "\n")
            self._last_to_put.append(rec["last_ingest_to_queue_put_done_us"])
            self.recorded += 1
            if self.recorded % self.summary_every == 0:
                p50, p95, p99 = self.percentiles()
                logger.info(
                    "producer latency last_ingest_to_queue_put_done over %d bins: "
                    "p50 %.1f us, p95 %.1f us, p99 %.1f us",
                    len(self._last_to_put),
                    p50,
                    p95,
                    p99,
                )
                if self._fh is not None:
                    self._fh.flush()

    def percentiles(self) -> tuple[float, float, float]:
        """Rolling p50/p95/p99 of last_ingest_to_queue_put_done (us); zeros when empty."""
        if not self._last_to_put:
            return 0.0, 0.0, 0.0
        p = np.percentile(np.fromiter(self._last_to_put, dtype=np.float64), [50, 95, 99])
        return float(p[0]), float(p[1]), float(p[2])

    def flush(self) -> None:
        """Write buffered records to the JSONL file."""
        with self._lock:
            if self._fh is not None:
                self._fh.flush()

    def close(self) -> None:
        """Flush and close the JSONL file."""
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
