"""``run_vacuum_pressure``: serve the replay WebSocket (and the built page) for one instrument.

The seed's flags choose the default stream a client gets when it omits parameters (product,
symbol, date and start time are still required in the URL by the protocol; the flags are
checked at startup so a misconfigured server fails before listening). With ``--static-port``
the same process also serves ``frontend/dist`` on a second port (the page's origin, 5174 in
run.sh) so the seed URL works without the Vite dev server.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from ..cache.store import DEFAULT_MAX_CACHE_BYTES
from ..errors import VPError
from ..lake import lake_root
from ..spectrum import ProjectionModel
from ..timeutil import et_to_ns

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[4]
DEFAULT_DIST = REPO_ROOT / "frontend" / "dist"


def build_parser() -> argparse.ArgumentParser:
    """Every seed flag plus --host, --speed, --lake-root, --static-port, --frontend-dist."""
    p = argparse.ArgumentParser(prog="run_vacuum_pressure", description=__doc__.splitlines()[0])
    p.add_argument("--product-type", required=True, help="future_mbo or equity_mbo (the lock)")
    p.add_argument("--symbol", required=True, help="contract, e.g. MNQH6 (the lock)")
    p.add_argument("--dt", required=True, help="session date YYYY-MM-DD (checked at startup)")
    p.add_argument("--port", type=int, default=8002, help="WebSocket/HTTP port (default 8002)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--start-time", required=True, help="stream start, ET HH:MM")
    p.add_argument("--speed", default="1", help="default replay speed: 0 or 0.1..100 (default 1)")
    p.add_argument("--projection-use-cubic", action="store_true", help="add the cubic term")
    p.add_argument("--projection-cubic-scale", type=float, default=1.0 / 6.0)
    p.add_argument("--projection-damping-lambda", type=float, default=0.0)
    p.add_argument("--perf-latency-jsonl", type=Path, default=None, help="producer latency JSONL")
    p.add_argument("--perf-window-start-et", default=None, help="telemetry window start, ET HH:MM")
    p.add_argument("--perf-window-end-et", default=None, help="telemetry window end, ET HH:MM")
    p.add_argument("--perf-summary-every-bins", type=int, default=200)
    p.add_argument(
        "--lake-root", type=Path, default=None, help="lake folder (default backend/lake)"
    )
    p.add_argument("--checkpoint-interval-s", type=float, default=60.0)
    p.add_argument(
        "--checkpoint-max-gb",
        type=float,
        default=DEFAULT_MAX_CACHE_BYTES / 1e9,
        help="bound on lake/cache/checkpoints, oldest deleted first "
        f"(default {DEFAULT_MAX_CACHE_BYTES / 1e9:g}; 0 = unbounded)",
    )
    p.add_argument("--no-cache", action="store_true", help="no book cache or checkpoints")
    p.add_argument(
        "--gil-switch-interval-ms",
        type=float,
        default=5.0,
        help="sys.setswitchinterval in ms (Python's default 5): how long a thread waiting for "
        "the GIL (a producer handing a bin to the event loop) may wait before a forced switch",
    )
    p.add_argument("--frontend-dist", type=Path, default=DEFAULT_DIST)
    p.add_argument(
        "--static-port",
        type=int,
        default=None,
        help="also serve the built page on this port (run.sh: 5174)",
    )
    return p


def check_port_free(host: str, port: int) -> None:
    """Raise VPError (one line) if ``host:port`` cannot be listened on; uvicorn's own failure
    is a page of tracebacks from every server of the process."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise VPError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another server "
                "running there? stop it or choose another --port / --static-port)"
            ) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if args.gil_switch_interval_ms > 0:
        sys.setswitchinterval(args.gil_switch_interval_ms / 1000.0)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    import uvicorn

    from ..config import resolve_config
    from ..source import open_replay
    from .app import DEFAULT_ORIGINS, ServerSettings, create_app
    from .params import parse_stream_params
    from .telemetry import LatencyRecorder

    root = args.lake_root.resolve() if args.lake_root else lake_root()
    try:
        projection = ProjectionModel(
            args.projection_use_cubic, args.projection_cubic_scale, args.projection_damping_lambda
        )
        params = parse_stream_params(
            {
                "product_type": args.product_type,
                "symbol": args.symbol,
                "dt": args.dt,
                "start_time": args.start_time,
                "speed": args.speed,
                "projection_cubic_scale": repr(projection.cubic_scale),
                "projection_damping_lambda": repr(projection.damping_lambda),
            },
            default_projection=projection,
        )
        config = resolve_config(params.product_type, params.symbol)
        open_replay(config, params.dt, root)  # fail now, not at the first client
        for port in (args.port, args.static_port):
            if port:
                check_port_free(args.host, port)
        recorder = None
        if args.perf_latency_jsonl is not None:
            start = (
                et_to_ns(params.dt, args.perf_window_start_et)
                if args.perf_window_start_et
                else None
            )
            end = et_to_ns(params.dt, args.perf_window_end_et) if args.perf_window_end_et else None
            recorder = LatencyRecorder(
                args.perf_latency_jsonl, start, end, args.perf_summary_every_bins
            )
    except VPError as exc:
        logger.error("%s", exc)
        return 2
    origins = {*DEFAULT_ORIGINS, f"http://{args.host}:{args.port}", f"http://localhost:{args.port}"}
    if args.static_port:
        origins |= {
            f"http://{args.host}:{args.static_port}",
            f"http://localhost:{args.static_port}",
        }
    dist = args.frontend_dist if args.frontend_dist.is_dir() else None
    settings = ServerSettings(
        config=config,
        lake_root=root,
        default_speed=params.speed,
        projection=projection,
        recorder=recorder,
        checkpoint_interval_s=args.checkpoint_interval_s,
        use_cache=not args.no_cache,
        checkpoint_max_bytes=int(args.checkpoint_max_gb * 1e9) if args.checkpoint_max_gb else None,
        static_dir=dist,
        allowed_origins=tuple(sorted(origins)),
    )
    # No permessage-deflate: compressing ~23 KB of float64 Arrow per bin cost about a third of
    # the server's throughput (measured 108x vs 166x real time, one client at speed 0), for
    # frames that travel over loopback or a LAN.
    api = uvicorn.Config(
        create_app(settings), host=args.host, port=args.port, ws_per_message_deflate=False
    )
    servers = [uvicorn.Server(api)]
    if args.static_port and dist is not None:
        from fastapi import FastAPI
        from fastapi.staticfiles import StaticFiles

        page = FastAPI(docs_url=None, redoc_url=None)
        page.mount("/", StaticFiles(directory=dist, html=True), name="frontend")
        servers.append(uvicorn.Server(uvicorn.Config(page, host=args.host, port=args.static_port)))
    query = (
        f"vacuum-pressure.html?product_type={params.product_type}&symbol={params.symbol}"
        f"&dt={params.dt}&start_time={params.start_time}"
    )
    if dist is not None:
        page_hint = f"open http://localhost:{args.static_port or args.port}/{query}"
    else:  # nothing to serve the page from here: the dev server serves it
        page_hint = (
            f"no built page in {args.frontend_dist}: run `npm run dev` in frontend/ and open "
            f"http://localhost:5174/{query}"
        )
    logger.info(
        "serving %s:%s on %s:%d; %s",
        config.product_type,
        config.symbol,
        args.host,
        args.port,
        page_hint,
    )

    async def serve_all() -> None:
        await asyncio.gather(*(s.serve() for s in servers))

    try:
        asyncio.run(serve_all())
    finally:
        if recorder is not None:
            recorder.close()
    return 0
