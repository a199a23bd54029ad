"""Load test of the replay server (not a test suite: it prints figures).

Starts one server (``scripts/run_vacuum_pressure.py`` as a child process on a free loopback
port, with ``--perf-latency-jsonl`` in a temp folder) or connects to ``--url``, runs N WebSocket
clients at once, each reading a fixed number of bins from ``--start-time`` at ``--speed``, and
reports per client and in total: bins/s, the real-time multiple (bins/s x bin width), producer
latency percentiles from the server's telemetry, frame sizes, and the server's peak RSS
(``VmHWM`` of the child process). Loopback only, at most ``MAX_CLIENTS`` clients and
``MAX_BINS`` bins per client, and a global timeout.

Rates are measured from each client's first bin to its last, so the session's start-up (book
scan or book cache, 30 minutes of warmup) is reported separately as ``startup_s``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
import numpy as np
import websockets

from ..errors import VPError
from .app import STREAM_PATH

logger = logging.getLogger(__name__)

MAX_CLIENTS = 16
MAX_BINS = 100_000
LOOPBACK = ("127.0.0.1", "localhost", "::1")
RUN_SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "run_vacuum_pressure.py"

LATENCY_FIELDS = (
    "last_ingest_to_queue_put_done_us",
    "first_ingest_to_grid_ready_us",
    "last_ingest_to_grid_ready_us",
    "grid_ready_to_queue_put_done_us",
    "queue_block_us",
)


class LoadTestError(VPError):
    """Bad load-test arguments or a server that did not come up."""


@dataclass
class ClientResult:
    """What one client saw. Times are ``time.perf_counter`` seconds."""

    index: int
    bins: int = 0
    connected_s: float = 0.0
    first_bin_s: float = 0.0
    last_bin_s: float = 0.0
    header_bytes: list[int] = field(default_factory=list)
    arrow_bytes: list[int] = field(default_factory=list)
    error: str = ""

    @property
    def bins_per_s(self) -> float:
        """Bins per second from the first bin to the last (start-up excluded)."""
        span = self.last_bin_s - self.first_bin_s
        return (self.bins - 1) / span if self.bins > 1 and span > 0 else 0.0


@dataclass
class LoadReport:
    """The load test's figures (see ``format_report``)."""

    clients: list[ClientResult]
    speed: float
    bin_width_ms: int
    start_time: str
    n_bins: int
    total_bins_per_s: float
    latency: dict[str, tuple[float, float, float]]
    """field -> (p50, p99, max) in us over the telemetry records of this run."""
    latency_records: int
    peak_rss_mb: float | None
    wall_s: float

    @property
    def real_time_multiple(self) -> float:
        """Mean per-client bins/s divided by the real-time rate (1000 / bin width ms)."""
        rates = [c.bins_per_s for c in self.clients if c.bins_per_s > 0]
        return float(np.mean(rates)) * self.bin_width_ms / 1000.0 if rates else 0.0


async def _client(
    url: str, index: int, n_bins: int, timeout_s: float, result: ClientResult
) -> None:
    result.connected_s = time.perf_counter()
    async with websockets.connect(url, max_size=None) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), timeout_s))
        if first.get("type") != "runtime_config":
            raise LoadTestError(f"client {index}: expected runtime_config, got {first}")
        while result.bins < n_bins:
            msg = await asyncio.wait_for(ws.recv(), timeout_s)
            if not isinstance(msg, str):
                raise LoadTestError(f"client {index}: binary frame without a header")
            head = json.loads(msg)
            if head.get("type") == "error":
                raise LoadTestError(f"client {index}: server error: {head.get('message')}")
            if head.get("type") == "end_of_data":  # fewer bins than asked for: stop here
                return
            if head.get("type") != "grid_update":
                continue
            body = await asyncio.wait_for(ws.recv(), timeout_s)
            if not isinstance(body, bytes):
                raise LoadTestError(f"client {index}: grid_update without its Arrow frame")
            now = time.perf_counter()
            if result.bins == 0:
                result.first_bin_s = now
            result.last_bin_s = now
            result.bins += 1
            result.header_bytes.append(len(msg.encode()))
            result.arrow_bytes.append(len(body))


async def run_clients(
    url: str, clients: int, n_bins: int, timeout_s: float
) -> tuple[list[ClientResult], float]:
    """Run ``clients`` readers of ``n_bins`` bins each on ``url``; (results, wall seconds)."""
    results = [ClientResult(i) for i in range(clients)]
    t0 = time.perf_counter()

    async def one(i: int) -> None:
        try:
            await _client(url, i, n_bins, timeout_s, results[i])
        except (OSError, TimeoutError, websockets.WebSocketException, LoadTestError) as exc:
            results[i].error = f"{type(exc).__name__}: {exc}"

    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(clients))), timeout_s)
    return results, time.perf_counter() - t0


def latency_stats(
    path: Path, sessions: set[int] | None = None, skip_bytes: int = 0
) -> tuple[dict[str, tuple[float, float, float]], int]:
    """(field -> (p50, p99, max) us, record count) of a ``--perf-latency-jsonl`` file, over the
    records after its first ``skip_bytes`` bytes (those a reused ``--url`` server appended)."""
    values: dict[str, list[float]] = {name: [] for name in LATENCY_FIELDS}
    count = 0
    if path.is_file():
        with open(path, "rb") as fh:
            fh.seek(skip_bytes)
            text = fh.read().decode("utf-8")
        for line in text.splitlines():
            rec = json.loads(line)
            if sessions is not None and rec.get("session") not in sessions:
                continue
            count += 1
            for name in LATENCY_FIELDS:
                values[name].append(float(rec[name]))
    out: dict[str, tuple[float, float, float]] = {}
    for name, vals in values.items():
        if vals:
            p50, p99 = np.percentile(vals, [50, 99])
            out[name] = (float(p50), float(p99), float(max(vals)))
    return out, count


def peak_rss_mb(pid: int) -> float | None:
    """``VmHWM`` (peak resident set) of process ``pid`` in MB (1e6 bytes); None if unreadable."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def started_server(
    args: argparse.Namespace, jsonl: Path, log: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A child server on a free loopback port; yields (base ws url, process); terminated on
    exit (SIGTERM, then SIGKILL after 10 s)."""
    port = _free_port()
    cmd = [
        sys.executable,
        str(RUN_SCRIPT),
        "--product-type",
        args.product_type,
        "--symbol",
        args.symbol,
        "--dt",
        args.dt,
        "--start-time",
        args.start_time,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--perf-latency-jsonl",
        str(jsonl),
        "--perf-summary-every-bins",
        "1000",
    ]
    if args.lake_root is not None:
        cmd += ["--lake-root", str(args.lake_root)]
    if args.no_cache:
        cmd.append("--no-cache")
    if args.gil_switch_interval_ms is not None:
        cmd += ["--gil-switch-interval-ms", str(args.gil_switch_interval_ms)]
    with open(log, "wb") as log_fh:
        proc = subprocess.Popen(cmd, stdout=log_fh, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise LoadTestError(f"server exited with {proc.returncode}; see {log}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise LoadTestError(f"server did not answer /health within 60 s; see {log}")
            time.sleep(0.2)
        yield f"ws://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def build_parser() -> argparse.ArgumentParser:
    """The load script's arguments."""
    p = argparse.ArgumentParser(prog="load_test_server", description=__doc__.splitlines()[0])
    p.add_argument("--url", default=None, help="existing server, e.g. ws://127.0.0.1:8002")
    p.add_argument("--clients", type=int, default=1, help=f"concurrent clients (1..{MAX_CLIENTS})")
    p.add_argument("--speed", default="0", help="replay speed per client (0 = full speed)")
    p.add_argument("--product-type", default="future_mbo")
    p.add_argument("--symbol", default="MNQH6")
    p.add_argument("--dt", default="2026-02-06", help="the synthetic day by default")
    p.add_argument("--start-time", default="09:30", help="ET HH:MM; bins start here")
    p.add_argument("--end-time", default=None, help="ET HH:MM; sets --bins from the window")
    p.add_argument("--bins", type=int, default=6000, help=f"bins per client (1..{MAX_BINS})")
    p.add_argument("--timeout-s", type=float, default=900.0, help="global timeout")
    p.add_argument("--lake-root", type=Path, default=None)
    p.add_argument("--no-cache", action="store_true", help="server without book cache")
    p.add_argument(
        "--gil-switch-interval-ms", type=float, default=None, help="passed to the server"
    )
    p.add_argument(
        "--save-jsonl", type=Path, default=None, help="copy this run's telemetry records here"
    )
    p.add_argument(
        "--latency-jsonl",
        type=Path,
        default=None,
        help="with --url: the server's --perf-latency-jsonl file to summarise",
    )
    return p


def run(args: argparse.Namespace) -> LoadReport:
    """Run the load test described by ``args`` (see ``build_parser``)."""
    from ..config import resolve_config
    from ..timeutil import et_to_ns

    if not 1 <= args.clients <= MAX_CLIENTS:
        raise LoadTestError(f"--clients {args.clients}: expected 1..{MAX_CLIENTS}")
    config = resolve_config(args.product_type, args.symbol)
    n_bins = args.bins
    if args.end_time is not None:
        span = et_to_ns(args.dt, args.end_time) - et_to_ns(args.dt, args.start_time)
        n_bins = span // config.cell_width_ns
    if not 1 <= n_bins <= MAX_BINS:
        raise LoadTestError(f"{n_bins} bins per client: expected 1..{MAX_BINS}")
    query = urlencode(
        {
            "product_type": args.product_type,
            "symbol": args.symbol,
            "dt": args.dt,
            "start_time": args.start_time,
            "speed": args.speed,
        }
    )
    with tempfile.TemporaryDirectory(prefix="vp-load-") as tmp:
        jsonl = Path(tmp) / "latency.jsonl"
        with contextlib.ExitStack() as stack:
            pid: int | None = None
            if args.url is None:
                base, proc = stack.enter_context(started_server(args, jsonl, Path(tmp) / "log"))
                pid = proc.pid
            else:
                host = urlsplit(args.url).hostname or ""
                if host not in LOOPBACK:
                    raise LoadTestError(f"--url host {host!r}: expected one of {LOOPBACK}")
                base = args.url.rstrip("/")
                jsonl = args.latency_jsonl or jsonl
            skip = jsonl.stat().st_size if jsonl.is_file() else 0
            results, wall = asyncio.run(
                run_clients(f"{base}{STREAM_PATH}?{query}", args.clients, n_bins, args.timeout_s)
            )
            time.sleep(0.5)  # the server flushes telemetry every --perf-summary-every-bins
            rss = peak_rss_mb(pid) if pid is not None else None
            if args.url is None:
                stack.close()  # stop the server: its telemetry file is complete
            latency, n_records = latency_stats(jsonl, skip_bytes=skip)
            if args.save_jsonl is not None and jsonl.is_file():
                with open(jsonl, "rb") as src, open(args.save_jsonl, "wb") as dst:
                    src.seek(skip)
                    shutil.copyfileobj(src, dst)
    firsts = [c.first_bin_s for c in results if c.bins]
    lasts = [c.last_bin_s for c in results if c.bins]
    total_bins = sum(c.bins for c in results)
    window_s = max(lasts) - min(firsts) if firsts else 0.0
    return LoadReport(
        clients=results,
        speed=float(args.speed),
        bin_width_ms=config.cell_width_ms,
        start_time=args.start_time,
        n_bins=n_bins,
        total_bins_per_s=total_bins / window_s if window_s > 0 else 0.0,
        latency=latency,
        latency_records=n_records,
        peak_rss_mb=rss,
        wall_s=wall,
    )


def format_report(report: LoadReport) -> str:
    """The report as text (what the script prints)."""
    lines = [
        f"{len(report.clients)} client(s), speed {report.speed:g}, {report.n_bins} bins each "
        f"from {report.start_time} ET, bin width {report.bin_width_ms} ms, "
        f"wall {report.wall_s:.1f} s",
    ]
    for c in report.clients:
        startup = c.first_bin_s - c.connected_s if c.bins else float("nan")
        lines.append(
            f"  client {c.index}: {c.bins} bins, {c.bins_per_s:.1f} bins/s, "
            f"startup {startup:.1f} s" + (f", ERROR {c.error}" if c.error else "")
        )
    lines.append(
        f"total: {report.total_bins_per_s:.1f} bins/s; real-time multiple per client "
        f"{report.real_time_multiple:.1f}x"
    )
    headers = [b for c in report.clients for b in c.header_bytes]
    arrows = [b for c in report.clients for b in c.arrow_bytes]
    if headers:
        lines.append(
            f"frame per bin: header {np.mean(headers):.0f} B + Arrow {np.mean(arrows):.0f} B "
            f"(min {min(arrows)}, max {max(arrows)}) = {np.mean(headers) + np.mean(arrows):.0f} B"
        )
    lines.append(f"producer latency over {report.latency_records} telemetry records (us):")
    for name in LATENCY_FIELDS:
        if name in report.latency:
            p50, p99, top = report.latency[name]
            lines.append(f"  {name:36s} p50 {p50:9.1f}  p99 {p99:9.1f}  max {top:9.1f}")
    rss = "n/a (not started here)" if report.peak_rss_mb is None else f"{report.peak_rss_mb:.0f} MB"
    lines.append(f"peak server RSS (VmHWM): {rss}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of scripts/load_test_server.py; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        report = run(args)
    except VPError as exc:
        logger.error("%s", exc)
        return 2
    sys.stdout.write(format_report(report) + "\n")
    return 1 if any(c.error for c in report.clients) else 0
