"""The FastAPI app: ``GET /health`` and ``WS /v1/vacuum-pressure/stream`` (SPEC 8).

The handler is thin: validate, open the source, send runtime_config, then run a sender (drains
the session's queue) and a receiver (controls; a disconnect is only seen on receive) together;
``finally`` stops the producer thread. Every frame goes out under one lock so that a control
ack can never land between a grid_update and its binary frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from ..cache.store import DEFAULT_MAX_CACHE_BYTES, CheckpointWriter
from ..config import InstrumentConfig
from ..errors import DataFileNotFoundError, InstrumentLockError, SourceError, VPError
from ..source import open_replay
from ..spectrum import ProjectionModel
from ..timeutil import et_to_ns, utc_day_ns
from .arrow import grid_schema, schema_fields, warm_up
from .params import RequestError, StreamParams, parse_control, parse_stream_params
from .session import CLOSE_BAD_REQUEST, CLOSE_INTERNAL, Item, ReplaySession, SessionOptions
from .telemetry import LatencyRecorder

logger = logging.getLogger(__name__)

STREAM_PATH = "/v1/vacuum-pressure/stream"
FRONTEND_PORT = 5174
DEFAULT_ORIGINS = (f"http://localhost:{FRONTEND_PORT}", f"http://127.0.0.1:{FRONTEND_PORT}")
"""The frontend's origins (Vite dev server and the built page served on the same port)."""


@dataclass(frozen=True)
class ServerSettings:
    """Everything the app needs; built by the CLI or by tests."""

    config: InstrumentConfig
    lake_root: Path
    default_speed: float = 1.0
    projection: ProjectionModel = field(default_factory=ProjectionModel)
    recorder: LatencyRecorder | None = None
    checkpoint_interval_s: float = 60.0
    queue_bins: int = 8
    use_cache: bool = True
    checkpoint_max_bytes: int | None = DEFAULT_MAX_CACHE_BYTES
    """Bound on lake/cache/checkpoints (oldest deleted first); None = unbounded."""
    static_dir: Path | None = None
    allowed_origins: tuple[str, ...] = DEFAULT_ORIGINS


def runtime_config_message(
    config: InstrumentConfig, params: StreamParams, session: ReplaySession
) -> str:
    """The runtime_config text frame (SPEC 8 item 1)."""
    pm = params.projection
    msg: dict[str, Any] = {"type": "runtime_config", **config.to_wire()}
    msg.update(
        projection_model={
            "use_cubic": pm.use_cubic,
            "cubic_scale": pm.cubic_scale,
            "damping_lambda": pm.damping_lambda,
        },
        mode="replay",
        deployment_stage="pre_prod",
        stream_format="dense_grid",
        grid_schema_fields=schema_fields(session.schema),
        grid_rows=2 * config.grid_radius_ticks + 1,
        dt=params.dt,
        start_time=params.start_time,
        speed=params.speed,
        emit_after_ns=str(session.emit_after_ns),
        warmup_start_ns=str(session.warmup_start_ns),
    )
    return json.dumps(msg)


async def _fail(ws: WebSocket, message: str, code: int) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await ws.send_text(json.dumps({"type": "error", "message": message}))
        # A close reason is at most 123 bytes of UTF-8 (longer fails the close itself).
        reason = message.encode()[:120].decode("utf-8", "ignore")
        await ws.close(code=code, reason=reason)


def create_app(settings: ServerSettings) -> FastAPI:
    """The replay server app (see module docstring)."""
    writer = (
        CheckpointWriter(settings.lake_root, max_bytes=settings.checkpoint_max_bytes)
        if settings.use_cache and settings.checkpoint_interval_s > 0
        else None
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        # uvicorn re-raises SIGINT/SIGTERM after its shutdown, so the CLI's own cleanup may
        # never run: flush the telemetry and finish the queued checkpoints here.
        if settings.recorder is not None:
            settings.recorder.flush()
        if writer is not None:
            await asyncio.to_thread(writer.close)

    app = FastAPI(title="vacuum-pressure", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.allowed_origins),
        allow_methods=["GET"],
        allow_headers=["*"],
    )
    options = SessionOptions(
        lake_root=settings.lake_root,
        queue_bins=settings.queue_bins,
        checkpoint_interval_s=settings.checkpoint_interval_s,
        use_cache=settings.use_cache,
        recorder=settings.recorder,
        checkpoint_writer=writer,
    )
    app.state.checkpoint_writer = writer
    warm_up(grid_schema(tuple(settings.config.projection_horizons_ms)))
    ids = itertools.count(1)
    app.state.sessions = set()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": "vacuum-pressure"}

    @app.websocket(STREAM_PATH)
    async def stream(ws: WebSocket) -> None:
        origin = ws.headers.get("origin")
        await ws.accept()
        if origin is not None and origin not in settings.allowed_origins:
            await _fail(ws, f"origin {origin!r} is not allowed", CLOSE_BAD_REQUEST)
            return
        config = settings.config
        try:
            params = parse_stream_params(
                ws.query_params,
                default_speed=settings.default_speed,
                default_projection=settings.projection,
            )
            config.check_instrument(params.product_type, params.symbol)
            source = await asyncio.to_thread(open_replay, config, params.dt, settings.lake_root)
        except (RequestError, InstrumentLockError, DataFileNotFoundError) as exc:
            await _fail(ws, str(exc), CLOSE_BAD_REQUEST)
            return
        except SourceError as exc:
            await _fail(ws, str(exc), CLOSE_INTERNAL)
            return
        except VPError as exc:
            await _fail(ws, str(exc), CLOSE_BAD_REQUEST)
            return

        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Item] = asyncio.Queue()

        def emit(item: Item) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        session = ReplaySession(
            config,
            params,
            source,
            options,
            emit,
            next(ids),
        )
        send_lock = asyncio.Lock()
        resumed = asyncio.Event()
        resumed.set()
        app.state.sessions.add(session)
        try:
            await ws.send_text(runtime_config_message(config, params, session))
            session.start()
            sender = asyncio.create_task(_sender(ws, session, queue, send_lock, resumed))
            receiver = asyncio.create_task(_receiver(ws, session, params, send_lock, resumed))
            done, pending = await asyncio.wait(
                {sender, receiver}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
            for task in done:
                failure = task.exception()
                if failure is not None and not isinstance(
                    failure, WebSocketDisconnect | RuntimeError
                ):
                    logger.error("stream task failed: %r", failure)
        except WebSocketDisconnect:
            pass
        finally:
            await asyncio.to_thread(session.stop)
            app.state.sessions.discard(session)
            logger.info("session %d closed", session.session_id)

    if settings.static_dir is not None and settings.static_dir.is_dir():
        app.mount("/", StaticFiles(directory=settings.static_dir, html=True), name="frontend")
    return app


async def _sender(
    ws: WebSocket,
    session: ReplaySession,
    queue: asyncio.Queue[Item],
    lock: asyncio.Lock,
    resumed: asyncio.Event,
) -> None:
    while True:
        kind, gen, payload, extra = await queue.get()
        if kind == "error":
            async with lock:
                await _fail(ws, str(payload), int(extra))
            return
        if gen != session.generation:  # produced before a seek: drop
            if kind == "bin":
                session.release()
            continue
        if kind == "text":
            async with lock:
                await ws.send_text(payload)
            continue
        try:
            while not resumed.is_set() and gen == session.generation:
                await resumed.wait()
            if gen != session.generation:
                continue
            async with lock:
                await ws.send_text(payload)
                await ws.send_bytes(extra)
        finally:
            session.release()


async def _receiver(
    ws: WebSocket,
    session: ReplaySession,
    params: StreamParams,
    lock: asyncio.Lock,
    resumed: asyncio.Event,
) -> None:
    day_end = utc_day_ns(params.dt)[1]
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
        text = message.get("text")
        reply: dict[str, Any]
        try:
            if text is None:
                raise RequestError("control messages are JSON text frames, not binary frames")
            try:
                msg = json.loads(text)
            except json.JSONDecodeError:
                raise RequestError("control message is not JSON") from None
            control = parse_control(msg)
            if control.op == "pause":
                session.clock.set_paused(True)
                resumed.clear()
                reply = {"type": "ack", "op": "pause"}
            elif control.op == "resume":
                session.clock.set_paused(False)
                resumed.set()
                reply = {"type": "ack", "op": "resume"}
            elif control.op == "set_speed":
                session.clock.set_speed(control.speed)
                reply = {"type": "ack", "op": "set_speed", "speed": control.speed}
            else:
                target = et_to_ns(params.dt, control.time_et, name="time_et")
                if not session.emit_after_ns <= target < day_end:
                    raise RequestError(
                        f"seek time_et {control.time_et!r} is outside the replay: expected a time "
                        f"from start_time {params.start_time} to the end of {params.dt}"
                    )
                session.seek(target, control.time_et)
                # Acknowledged now (the request) and again by the producer once it has landed
                # (with the landing bin_seq), just before the first bin after the seek.
                reply = {"type": "ack", "op": "seek_requested", "time_et": control.time_et}
        except RequestError as exc:
            reply = {"type": "error", "message": str(exc)}
        async with lock:
            await ws.send_text(json.dumps(reply))
