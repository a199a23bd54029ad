"""One client's replay: a producer thread that runs the serve pipeline, paced, into a bounded
hand-off to the event loop, with pause/resume/speed/seek controls and checkpoints.

The producer feeds records bin by bin: it cuts each chunk where the next bin closes (the first
record, in file order, with ``ts >= bin_end``), waits on the replay clock until that bin's end
in replay time, then feeds the slice; the pipeline emits the bin(s) and the encoded frames go
to the client's queue. A semaphore of ``queue_bins`` slots bounds what is queued, so a slow
client slows only its own producer and memory per client stays bounded. Every wait (clock,
queue) wakes at least every 50 ms to notice a stop or a seek, so a closed client's producer
ends within one bin.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import pyarrow as pa

from ..cache.store import (
    CacheKey,
    CheckpointStore,
    CheckpointWriter,
    load_book_cache,
    raw_file_identity,
    save_book_cache,
)
from ..config import InstrumentConfig
from ..errors import SourceError, VPError
from ..pipeline.frames import ServeBin
from ..pipeline.serve import ServePipeline
from ..source.dbn import DbnSource
from .arrow import GridEncoder, grid_schema, header_message
from .params import StreamParams
from .telemetry import BinTimings, LatencyRecorder

logger = logging.getLogger(__name__)

_POLL_S = 0.05
_RESYNC_S = 1.0
"""When the producer falls this far behind the paced schedule (slow client), the clock is
re-anchored instead of bursting to catch up."""

CLOSE_BAD_REQUEST = 1008
CLOSE_INTERNAL = 1011


class Stopped(Exception):
    """The session is closing; unwind the producer."""


class SeekRequested(Exception):
    """A seek arrived; unwind the current replay and restart from a checkpoint."""


class Timer(Protocol):
    """Where the replay clock reads wall time and sleeps (injectable so pacing is testable
    without real waits)."""

    def now(self) -> float:
        """Wall time in seconds (monotonic)."""
        ...

    def wait(self, cond: threading.Condition, timeout_s: float) -> None:
        """Sleep up to ``timeout_s`` seconds on ``cond`` (held by the caller), waking early
        when it is notified."""
        ...


class MonotonicTimer:
    """The real timer: ``time.monotonic`` and ``Condition.wait``."""

    def now(self) -> float:
        """``time.monotonic()`` in seconds."""
        return time.monotonic()

    def wait(self, cond: threading.Condition, timeout_s: float) -> None:
        """``cond.wait(timeout_s)``."""
        cond.wait(timeout_s)


class ReplayClock:
    """Replay time -> wall time at ``speed`` (0 = unpaced), with pause, stop and seek flags.

    Market times are ns; wall times are seconds of ``timer`` (default ``time.monotonic``).
    Between two bins of width ``w`` ns the producer waits ``w / 1e9 / speed`` seconds.
    """

    def __init__(self, speed: float, timer: Timer | None = None) -> None:
        # An RLock so that a timer (tests) may call the controls from inside ``wait``.
        self._cond = threading.Condition(threading.RLock())
        self._timer: Timer = timer or MonotonicTimer()
        self.speed = speed
        self.paused = False
        self.stopped = False
        self._seek: tuple[int, int] | None = None  # (target_ns, generation)
        self._anchor_wall = self._timer.now()
        self._anchor_market: int | None = None
        self._last_market = 0

    def reanchor(self, market_ns: int) -> None:
        """Make ``market_ns`` correspond to now."""
        with self._cond:
            self._anchor_wall = self._timer.now()
            self._anchor_market = market_ns
            self._last_market = market_ns

    def check(self) -> None:
        """Raise Stopped or SeekRequested if one is pending."""
        with self._cond:
            self._check()

    def _check(self) -> None:
        if self.stopped:
            raise Stopped
        if self._seek is not None:
            raise SeekRequested

    def due_s(self, market_ns: int) -> float | None:
        """Wall time (s) at which ``market_ns`` is due; None when unpaced or not anchored."""
        with self._cond:
            if self.speed == 0 or self._anchor_market is None:
                return None
            return self._anchor_wall + (market_ns - self._anchor_market) / 1e9 / self.speed

    def wait_until(self, market_ns: int) -> None:
        """Block until replay time ``market_ns`` is due (or raise Stopped / SeekRequested)."""
        with self._cond:
            while True:
                self._check()
                if self.paused:
                    self._timer.wait(self._cond, _POLL_S)
                    continue
                due = self.due_s(market_ns)
                if due is None:
                    self._last_market = market_ns
                    return
                now = self._timer.now()
                if due <= now:
                    if now - due > _RESYNC_S:
                        self._anchor_wall, self._anchor_market = now, market_ns
                    self._last_market = market_ns
                    return
                self._timer.wait(self._cond, min(due - now, _POLL_S))

    def wait_idle(self) -> None:
        """Block until a stop or seek (end of data)."""
        with self._cond:
            while True:
                self._check()
                self._timer.wait(self._cond, _POLL_S)

    def set_paused(self, paused: bool) -> None:
        """Pause or resume; resuming re-anchors so the pause is not made up by a burst."""
        with self._cond:
            if self.paused and not paused:
                self._anchor_wall, self._anchor_market = self._timer.now(), self._last_market
            self.paused = paused
            self._cond.notify_all()

    def set_speed(self, speed: float) -> None:
        """Change the pace from the last released bin on."""
        with self._cond:
            self.speed = speed
            self._anchor_wall, self._anchor_market = self._timer.now(), self._last_market
            self._cond.notify_all()

    def request_seek(self, target_ns: int, generation: int) -> None:
        """Ask the producer to unwind and replay from ``target_ns``."""
        with self._cond:
            self._seek = (target_ns, generation)
            self._cond.notify_all()

    def take_seek(self) -> tuple[int, int] | None:
        """The pending seek, cleared."""
        with self._cond:
            seek, self._seek = self._seek, None
            return seek

    def stop(self) -> None:
        """Make every wait raise Stopped."""
        with self._cond:
            self.stopped = True
            self._cond.notify_all()


@dataclass(frozen=True)
class SessionOptions:
    """Server-wide options of every session."""

    lake_root: Path
    queue_bins: int = 8
    checkpoint_interval_s: float = 60.0
    use_cache: bool = True
    recorder: LatencyRecorder | None = None
    timer: Timer | None = None
    """Pacing clock of every session (None: ``MonotonicTimer``; tests inject a fake)."""
    checkpoint_writer: CheckpointWriter | None = None
    """Writes checkpoints off the producer thread; None writes them inline."""


Item = tuple[str, int, Any, Any]
"""Queue items: ("bin", generation, header_text, ipc_bytes) | ("text", generation, json, None)
| ("error", generation, message, close_code)."""


class ReplaySession:
    """The producer of one client (see module docstring). ``emit`` hands an item to the event
    loop (thread-safe, non-blocking); ``release`` must be called once per sent bin."""

    def __init__(
        self,
        config: InstrumentConfig,
        params: StreamParams,
        source: DbnSource,
        options: SessionOptions,
        emit: Callable[[Item], None],
        session_id: int = 0,
    ) -> None:
        self.config = config
        self.params = params
        self.source = source
        self.options = options
        self._emit = emit
        self.session_id = session_id
        self.clock = ReplayClock(params.speed, options.timer)
        self.schema: pa.Schema = grid_schema(tuple(config.projection_horizons_ms))
        self._encoder = GridEncoder(self.schema)
        self._slots = threading.Semaphore(options.queue_bins)
        self.generation = 0
        self._width = config.cell_width_ns
        probe = self._new_pipeline()
        self.warmup_start_ns = probe.warmup_start_ns
        self.emit_after_ns = probe.emit_after_ns
        self._key: CacheKey | None = None
        self._done_slots: set[int] | None = None
        self.seek_time_et = ""
        self.idle_at_end = True
        self._last_sent: ServeBin | None = None  # the last bin delivered since start or seek
        self._checkpoints: CheckpointStore | None = None
        self._template = probe.export_state() if options.use_cache else None
        self._thread = threading.Thread(
            target=self._run, name=f"vp-replay-{session_id}", daemon=True
        )

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the producer thread."""
        self._thread.start()

    def run_to_end(self) -> None:
        """Replay to the end of data in the calling thread (warm_cache: book cache and
        checkpoints; ``emit`` should drop items and call ``release``)."""
        self.idle_at_end = False
        self._run()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the producer and wait for its thread (file handles close with it)."""
        self.clock.stop()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def release(self) -> None:
        """A queued bin left the queue (sent or dropped)."""
        self._slots.release()

    # -- controls (event loop side) --------------------------------------------------------------
    def seek(self, target_ns: int, time_et: str = "") -> int:
        """Request a seek to replay time ``target_ns``; returns the new generation."""
        self.generation += 1
        self.seek_time_et = time_et
        self.clock.request_seek(target_ns, self.generation)
        return self.generation

    # -- producer --------------------------------------------------------------------------------
    def _new_pipeline(self) -> ServePipeline:
        return ServePipeline(
            self.config, self.params.dt, self.params.start_time, projection=self.params.projection
        )

    def _run(self) -> None:
        gen = 0
        try:
            if self.options.use_cache:
                self._open_cache()
            start = self._initial_start()
            target: int | None = None
            while True:
                try:
                    self._last_sent = None
                    self._replay(start, target, gen)
                    self._emit(("text", gen, self._end_of_data(), None))
                    if not self.idle_at_end:
                        return
                    self.clock.wait_idle()
                except SeekRequested:
                    seek = self.clock.take_seek()
                    if seek is None:
                        continue
                    target_ns, gen = seek
                    target = (
                        self.emit_after_ns
                        + (target_ns - self.emit_after_ns) // self._width * self._width
                    )
                    start = self._start_for(target)
        except Stopped:
            pass
        except SourceError as exc:
            logger.warning("session %d: data error: %s", self.session_id, exc)
            self._emit(("error", gen, str(exc), CLOSE_INTERNAL))
        except VPError as exc:
            logger.warning("session %d: %s", self.session_id, exc)
            self._emit(("error", gen, str(exc), CLOSE_BAD_REQUEST))
        except Exception as exc:
            logger.exception("session %d: replay failed", self.session_id)
            self._emit(
                ("error", gen, f"internal error: {type(exc).__name__}: {exc}", CLOSE_INTERNAL)
            )

    def _open_cache(self) -> None:
        p = self.params
        identity = raw_file_identity(self.source.path)
        self._key = CacheKey(
            p.product_type, p.symbol, p.dt, p.start_time, identity, self.config.config_version
        )
        assert self._template is not None
        pm = p.projection
        self._checkpoints = CheckpointStore(
            self.options.lake_root,
            self._key.with_projection(pm.use_cubic, pm.cubic_scale, pm.damping_lambda),
            self._template,
            self.config.n_absolute_ticks,
        )

    def _initial_start(self) -> tuple[ServePipeline, int]:
        pipeline = self._new_pipeline()
        if self._key is not None:
            cached = load_book_cache(self.options.lake_root, self._key)
            if cached is not None:
                state, position = cached
                pipeline.restore_book(state)
                logger.info(
                    "session %d: book restored from cache (position %d)", self.session_id, position
                )
                return pipeline, position
        return pipeline, 0

    def _start_for(self, target_start_ns: int) -> tuple[ServePipeline, int]:
        """The pipeline and source position to replay from for a seek to ``target_start_ns``."""
        if self._checkpoints is not None:
            cp = self._checkpoints.nearest(target_start_ns)
            if cp is not None:
                pipeline = self._new_pipeline()
                pipeline.import_state(cp.state)
                logger.info(
                    "session %d: seek from checkpoint at bin %d (%d bins to replay)",
                    self.session_id,
                    cp.bin_seq,
                    (target_start_ns - cp.bin_start_ns) // self._width,
                )
                return pipeline, cp.position
        return self._initial_start()

    def _chunks(self, position: int) -> Generator[np.ndarray, None, None]:
        """Source chunks after skipping ``position`` records."""
        # iter_chunks is a generator; closing it closes the file at once.
        chunks = cast("Generator[np.ndarray, None, None]", self.source.iter_chunks())
        try:
            for chunk in chunks:
                if position >= len(chunk):
                    position -= len(chunk)
                    continue
                if position:
                    chunk, position = chunk[position:], 0
                self.clock.check()
                yield chunk
        finally:
            chunks.close()

    def _replay(self, start: tuple[ServePipeline, int], target: int | None, gen: int) -> None:
        """Replay from ``start`` to the end of data; bins before ``target`` are computed but
        not sent (seek fast-forward)."""
        pipeline, position = start
        width = self._width
        ff_target = target
        if target is None:
            self.clock.reanchor(pipeline.bin_end_ns - width)
        first_ingest: int | None = None
        chunks = self._chunks(position)
        try:
            for chunk in chunks:
                if not pipeline.book_ready:
                    j = self._book_step(pipeline, chunk)
                    position += j
                    if not pipeline.book_ready:
                        continue
                    self._save_book(pipeline, position)
                    chunk = chunk[j:]
                ts = chunk["ts"]
                cummax = np.maximum.accumulate(ts)
                i, n = 0, len(chunk)
                while i < n:
                    bin_end = pipeline.bin_end_ns
                    j = max(i, int(np.searchsorted(cummax, bin_end)))
                    if j >= n:
                        now = time.perf_counter_ns()
                        first_ingest = first_ingest or now
                        for frame in pipeline.feed(
                            chunk[i:]
                        ):  # pragma: no cover - cannot close a bin
                            self._deliver(frame, gen, first_ingest, now)
                        position += n - i
                        break
                    # While seeking, bins up to and including the target go out unpaced: the
                    # clock is re-anchored when the target bin lands.
                    if ff_target is None:
                        self.clock.wait_until(bin_end)
                    t_in = time.perf_counter_ns()
                    first = first_ingest or t_in
                    n_bins = (int(ts[j]) - bin_end) // width + 1
                    frames = pipeline.feed(chunk[i : j + 1])
                    for b in range(n_bins):
                        if b > 0:
                            if ff_target is None:
                                self.clock.wait_until(pipeline.bin_end_ns)
                            else:
                                self.clock.check()
                            first = t_in = time.perf_counter_ns()
                        maybe = next(frames, None)
                        if maybe is None:
                            break
                        frame = maybe
                        if ff_target is not None and frame.header.bin_start_ns >= ff_target:
                            ff_target = None
                            self._land(frame, gen)
                        if ff_target is None:
                            self._deliver(frame, gen, first, t_in)
                    for frame in frames:  # pragma: no cover - n_bins is exact
                        self._deliver(frame, gen, t_in, t_in)
                    first_ingest = t_in  # record j belongs to the next bin
                    position += j + 1 - i
                    i = j + 1
                    self._maybe_checkpoint(pipeline, position)
            self.clock.check()
            for frame in pipeline.finish():
                if ff_target is None or frame.header.bin_start_ns >= ff_target:
                    if ff_target is not None:
                        ff_target = None
                        self._land(frame, gen)
                    self._deliver(
                        frame, gen, first_ingest or time.perf_counter_ns(), time.perf_counter_ns()
                    )
            if ff_target is not None:
                self._emit(("text", gen, self._seek_ack(None, ff_target), None))
        finally:
            chunks.close()

    def _land(self, frame: ServeBin, gen: int) -> None:
        self._emit(("text", gen, self._seek_ack(frame, frame.header.bin_start_ns), None))
        self.clock.reanchor(frame.header.bin_end_ns)

    def _seek_ack(self, frame: ServeBin | None, start_ns: int) -> str:
        msg: dict[str, Any] = {
            "type": "ack",
            "op": "seek",
            "time_et": self.seek_time_et,
            "bin_start_ns": str(start_ns),
        }
        if frame is None:
            msg["end_of_data"] = True
        else:
            msg["bin_seq"] = frame.header.bin_seq
        return json.dumps(msg)

    def _end_of_data(self) -> str:
        """The message after the last bin of a replay (null fields: no bin at all)."""
        last = self._last_sent
        return json.dumps(
            {
                "type": "end_of_data",
                "last_bin_seq": None if last is None else last.header.bin_seq,
                "last_bin_end_ns": None if last is None else str(last.header.bin_end_ns),
            }
        )

    def _deliver(self, frame: ServeBin, gen: int, first_ingest: int, last_ingest: int) -> None:
        self._last_sent = frame
        ready = time.perf_counter_ns()
        item: Item = ("bin", gen, header_message(frame), self._encoder.encode(frame))
        put_start = time.perf_counter_ns()
        while not self._slots.acquire(timeout=_POLL_S):
            self.clock.check()
        self._emit(item)
        put_done = time.perf_counter_ns()
        recorder = self.options.recorder
        if recorder is not None:
            recorder.record(
                frame.header,
                BinTimings(first_ingest, last_ingest, ready, put_start, put_done),
                self.session_id,
            )

    # -- caches ----------------------------------------------------------------------------------
    def _book_step(self, pipeline: ServePipeline, chunk: np.ndarray) -> int:
        """Feed the chunk's book-phase records (before the first record at or after the warmup
        start); end the book phase when that record is in the chunk. Returns records used."""
        j = int(np.searchsorted(np.maximum.accumulate(chunk["ts"]), self.warmup_start_ns))
        for _ in pipeline.feed(chunk[:j]):
            pass
        if j < len(chunk):
            for _ in pipeline.finish():  # ends the book phase; no bin can be pending yet
                pass
        return j

    def build_book_cache(self) -> None:
        """Write the book cache if no valid one exists (warm_cache without checkpoints)."""
        self._open_cache()
        assert self._key is not None
        if load_book_cache(self.options.lake_root, self._key) is not None:
            logger.info("book cache already valid")
            return
        pipeline, position = self._new_pipeline(), 0
        for chunk in self._chunks(0):
            position += self._book_step(pipeline, chunk)
            if pipeline.book_ready:
                break
        if not pipeline.book_ready:
            for _ in pipeline.finish():
                pass
        self._save_book(pipeline, position)

    def _save_book(self, pipeline: ServePipeline, position: int) -> None:
        if self._key is None:
            return
        try:
            save_book_cache(
                self.options.lake_root, self._key, pipeline.engine.export_state(), position
            )
        except OSError as exc:
            logger.warning("could not write the book cache: %s", exc)

    def _maybe_checkpoint(self, pipeline: ServePipeline, position: int) -> None:
        store = self._checkpoints
        interval = int(self.options.checkpoint_interval_s * 1e9)
        if store is None or interval <= 0:
            return
        start = pipeline.bin_end_ns - self._width
        slot = (start - self.emit_after_ns) // interval
        if self._done_slots is None:
            self._done_slots = {(s - self.emit_after_ns) // interval for s in store.starts()}
        if slot < 1 or slot in self._done_slots:
            return
        # Only the state copy happens here; encoding and the disk write (~50 ms) go to the
        # writer thread so that the producer keeps its pace.
        state = pipeline.export_state()
        writer = self.options.checkpoint_writer
        if writer is not None:
            writer.submit(store, pipeline.bin_seq, start, position, state)
        else:
            try:
                store.save(pipeline.bin_seq, start, position, state)
            except OSError as exc:
                logger.warning("could not write a checkpoint: %s", exc)
        self._done_slots.add(slot)
