"""Synthetic MNQ market: a genuine DBN MBO file that looks like CME Globex data to the engine.

``generate_day`` runs the queue-reactive kernel in ``synth_kernel.py`` and writes its records as a
zstd-compressed DBN file (metadata encoded by databento-dbn, records as the exact MBO layout).
``write_synthetic_file`` does that atomically and marks the file synthetic (``synth_marker``);
``synth_lake_day`` and ``ensure_synthetic_day`` put such a file into the lake when the lake has no
data for a date, and ``main`` is the ``vp synth`` subcommand. The model and its parameters are
described in FEATURES.md.
"""

from __future__ import annotations

import argparse
import datetime as dt_mod
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import databento_dbn
import numpy as np
import zstandard

from .. import lake
from ..config import InstrumentConfig
from ..errors import SourceError, VPError
from ..events import F_SNAPSHOT
from ..interrupt import interruptible
from ..timeutil import et_to_ns, format_et, parse_date
from . import synth_kernel as sk
from .dbn import MBO_RECORD_DTYPE, MBO_RTYPE
from .resolve import day_raw_files, future_root
from .synth_marker import is_synthetic, marker_path, write_marker

log = logging.getLogger(__name__)

DEFAULT_SYMBOL = "MNQH6"
DEFAULT_DT = "2026-02-06"
DEFAULT_START_ET = "08:00"
DEFAULT_END_ET = "12:00"
DEFAULT_SEED = 7

MODELLED_ROOT = "MNQ"
"""The only futures root the synthetic market models (prices about 21,500, tick 0.25)."""

INSTRUMENT_ID = 42140878
"""Instrument id written into every record and the symbology mapping (a fixed constant)."""

PUBLISHER_GLBX = 1
"""Databento publisher id of GLBX.MDP3 (CME Globex MDP 3.0)."""

DBN_VERSION = 3
"""DBN version declared in the metadata; the MBO record layout (``dbn.MBO_RECORD_DTYPE``) is the
same in versions 1-3."""

ADD_SIZES = np.array([1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 50, 100], np.int64)
ADD_PMF = np.array(
    [0.7461, 0.0881, 0.0540, 0.0337, 0.0092, 0.0119, 0.0066, 0.0063, 0.0326, 0.0047, 0.0017,
     0.0017, 0.0019, 0.0008, 0.0006]
)  # fmt: skip
"""Limit order sizes (contracts) and their probabilities, from the real CME file (ESH4)."""

TRADE_SIZES = np.array([1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 50], np.int64)
TRADE_PMF = np.array(
    [0.5957, 0.1551, 0.0562, 0.0451, 0.0289, 0.0246, 0.0195, 0.0172, 0.0141, 0.0151, 0.0101,
     0.0050, 0.0091, 0.0044]
)  # fmt: skip
"""Market order sizes (contracts) and their probabilities, from the real CME file (ESH4)."""

REGIME_NAMES = ("quiet", "normal", "fast")
REGIMES = np.array(
    [
        # activity mult, jumps per s, mean duration s, jump size (exponential part) mult
        [0.6, 1 / 150.0, 900.0, 0.8],
        [1.0, 1 / 75.0, 900.0, 1.0],
        [1.8, 1 / 40.0, 480.0, 1.4],
    ]
)
"""Regime table (rows quiet, normal, fast; columns as synth_kernel.R_*)."""

REGIME_TRANSITIONS = np.array(
    [
        [0.0, 0.7, 0.3],
        [0.6, 0.0, 0.4],
        [0.5, 0.5, 0.0],
    ]
)
"""Next-regime probabilities when a regime ends (row: current regime)."""


def _doc(text: str, default: Any) -> Any:
    return field(default=default, metadata={"doc": text})


@dataclass(frozen=True)
class SynthParams:
    """Parameters of the synthetic market; every rate is per second at activity multiplier 1."""

    start_price: float = _doc("price (dollars) of the best ask at the start", 21500.0)
    tick_size: float = _doc("tick in dollars (MNQ: 0.25)", 0.25)
    add_touch: float = _doc("touch add intensity at an empty queue, per side (1/s)", 20.0)
    add_qref: float = _doc("touch queue (contracts) at which the add intensity halves", 12.0)
    add_near: float = _doc("add intensity at an empty level 1, per side (1/s)", 1.0)
    add_near_decay: float = _doc("geometric decay of the add intensity per level beyond 1", 0.95)
    cancel_touch: float = _doc("per-order cancel rate at the touch (1/s)", 1.3)
    modify_touch: float = _doc("per-order modify rate at the touch (1/s)", 1.2)
    cancel_near: float = _doc("per-order cancel rate at levels 1-19 (1/s)", 0.1)
    modify_near: float = _doc("per-order modify rate at levels 1-19 (1/s)", 0.25)
    modify_price_frac: float = _doc("share of modifies that re-price the order", 0.82)
    market: float = _doc("market order intensity per side (1/s)", 3.5)
    hawkes_jump: float = _doc("same-side market intensity jump per market order (1/s)", 2.0)
    hawkes_tau: float = _doc("Hawkes excitation decay (s); branching ratio = jump x tau", 0.3)
    spread_fill: float = _doc("add intensity inside a spread wider than 1 tick (1/s/side)", 25.0)
    deep_add: float = _doc("background add intensity behind the touch, per side (1/s)", 12.0)
    deep_cancel: float = _doc("per-order cancel rate of background orders (1/s)", 1 / 900.0)
    deep_levels: int = _doc("levels per side populated by the background process", 600)
    snapshot_depth: float = _doc("mean snapshot depth of a deep level (contracts)", 40.0)
    snapshot_near_depth: float = _doc("mean snapshot depth of levels 0-19 (contracts)", 9.0)
    open_et: str = _doc("ET time of the cash open burst", "09:30")
    open_amp: float = _doc("extra activity multiplier at the open (decays)", 2.5)
    open_tau_s: float = _doc("decay time of the open burst (s)", 900.0)
    open_move_mult: float = _doc("extra jump rate multiplier at the open (decays)", 3.0)
    precursor_s: float = _doc("shortest precursor window before each jump (s)", 1.5)
    precursor_jitter_s: float = _doc("extra uniform 0..jitter precursor length (s)", 2.5)
    vac_cancel_mult: float = _doc("planted: cancel multiplier, approached side behind touch", 25.0)
    vac_add_mult: float = _doc("planted: add multiplier, approached side behind touch", 0.0)
    stack_rate: float = _doc("planted: stacking adds per second and level, trailing side", 30.0)
    stack_size: int = _doc("planted: stacking order size, multiple of an ordinary add", 5)
    stack_levels: int = _doc("planted: levels from the trailing touch that are stacked", 4)
    plant_levels: int = _doc("planted: levels 1..n behind the approached touch emptied", 4)
    move_min_ticks: float = _doc("smallest jump (ticks the approached touch moves)", 10.0)
    move_extra_ticks: float = _doc("mean exponential extra jump size (ticks)", 1.5)
    move_max_ticks: float = _doc("largest jump (ticks)", 14.0)
    jump_pull: float = _doc("share of the swept orders pulled instead of filled", 0.3)
    jump_gap_ns: float = _doc("ns between consecutive packets of a jump", 20_000.0)
    move_gap_s: float = _doc("pause after a jump before the next precursor may start (s)", 12.0)
    n_stubs: int = _doc("far stub orders in the snapshot (about 20,000 ticks away)", 4)
    recv_latency_ns: float = _doc("minimum ts_recv - ts_event (ns)", 80_000.0)
    recv_jitter_ns: float = _doc("mean extra exponential receive latency (ns)", 150_000.0)
    order_id0: int = _doc("first order id", 6_500_000_000_000)

    def to_vector(self, *, duration_s: float, open_rel_s: float, planted: bool) -> np.ndarray:
        """The kernel's float64 parameter vector (indices synth_kernel.P_*)."""
        p = np.zeros(sk.N_PARAMS)
        tick_int = round(self.tick_size / 1e-9)
        p[sk.P_TICK_INT] = tick_int
        p[sk.P_START_TICK] = round(self.start_price / self.tick_size)
        p[sk.P_ADD_TOUCH] = self.add_touch
        p[sk.P_ADD_QREF] = self.add_qref
        p[sk.P_ADD_NEAR] = self.add_near
        p[sk.P_ADD_NEAR_DECAY] = self.add_near_decay
        p[sk.P_CANCEL_TOUCH] = self.cancel_touch
        p[sk.P_CANCEL_NEAR] = self.cancel_near
        p[sk.P_MODIFY_NEAR] = self.modify_near
        p[sk.P_MODIFY_PRICE_FRAC] = self.modify_price_frac
        p[sk.P_MARKET] = self.market
        p[sk.P_HAWKES_JUMP] = self.hawkes_jump
        p[sk.P_HAWKES_TAU] = self.hawkes_tau
        p[sk.P_SPREAD_FILL] = self.spread_fill
        p[sk.P_DEEP_ADD] = self.deep_add
        p[sk.P_DEEP_CANCEL] = self.deep_cancel
        p[sk.P_DEEP_LEVELS] = self.deep_levels
        p[sk.P_SNAP_DEPTH] = self.snapshot_depth
        p[sk.P_SNAP_NEAR_DEPTH] = self.snapshot_near_depth
        p[sk.P_OPEN_REL_S] = open_rel_s
        p[sk.P_OPEN_AMP] = self.open_amp
        p[sk.P_OPEN_TAU] = self.open_tau_s
        p[sk.P_DURATION_S] = duration_s
        p[sk.P_PRECURSOR_S] = self.precursor_s
        p[sk.P_PRECURSOR_JITTER] = self.precursor_jitter_s
        p[sk.P_PLANTED] = 1.0 if planted else 0.0
        p[sk.P_VAC_CANCEL_MULT] = self.vac_cancel_mult
        p[sk.P_VAC_ADD_MULT] = self.vac_add_mult
        p[sk.P_STACK_RATE] = self.stack_rate
        p[sk.P_STACK_LEVELS] = self.stack_levels
        p[sk.P_STACK_SIZE] = self.stack_size
        p[sk.P_PLANT_LEVELS] = self.plant_levels
        p[sk.P_MOVE_MIN] = self.move_min_ticks
        p[sk.P_MOVE_EXTRA] = self.move_extra_ticks
        p[sk.P_MOVE_MAX] = self.move_max_ticks
        p[sk.P_JUMP_PULL] = self.jump_pull
        p[sk.P_JUMP_GAP_NS] = self.jump_gap_ns
        p[sk.P_MOVE_GAP_S] = self.move_gap_s
        p[sk.P_OPEN_MOVE_MULT] = self.open_move_mult
        p[sk.P_ORDER_ID0] = self.order_id0
        p[sk.P_N_STUBS] = self.n_stubs
        p[sk.P_RECV_LAT_NS] = self.recv_latency_ns
        p[sk.P_RECV_JIT_NS] = self.recv_jitter_ns
        p[sk.P_MODIFY_TOUCH] = self.modify_touch
        return p


@dataclass(frozen=True)
class SynthResult:
    """Records and move log of one simulated session (in memory)."""

    records: np.ndarray  # MBO_RECORD_DTYPE rows in file order
    moves: np.ndarray  # int64 rows of synth_kernel.MV_* columns (times in ns since start)
    start_ns: int  # the snapshot's R time (ns since the epoch)
    end_ns: int  # end of continuous trading (ns since the epoch)


@dataclass(frozen=True)
class SynthSummary:
    """What ``generate_day`` wrote and how fast."""

    path: Path
    records: int
    dbn_bytes: int  # size of the uncompressed DBN stream (metadata + records), bytes
    action_counts: dict[str, int]
    snapshot_orders: int
    busiest_hour_records: int
    busiest_hour_start_et: str
    moves: int
    wall_seconds: float
    records_per_second: float
    planted_effect: bool
    seed: int
    symbol: str
    dt: str
    start_et: str
    end_et: str
    params: SynthParams

    def settings(self) -> dict[str, Any]:
        """The arguments that reproduce the file (same arguments, same bytes), as JSON values."""
        names = ("symbol", "dt", "start_et", "end_et", "seed", "planted_effect")
        return {**{name: getattr(self, name) for name in names}, "params": asdict(self.params)}

    def describe(self) -> str:
        """A short human-readable report (for the CLI)."""
        mix = " ".join(f"{k}={v:,}" for k, v in self.action_counts.items())
        return (
            f"wrote {self.path}\n"
            f"  records {self.records:,} (snapshot orders {self.snapshot_orders:,}); {mix}\n"
            f"  busiest hour from {self.busiest_hour_start_et}: "
            f"{self.busiest_hour_records:,} records\n"
            f"  moves {self.moves}, planted effect {'on' if self.planted_effect else 'off'}, "
            f"seed {self.seed}\n"
            f"  {self.wall_seconds:.2f} s wall, {self.records_per_second:,.0f} records/s"
        )


def check_symbol(symbol: str) -> str:
    """``symbol`` if it is an MNQ contract (e.g. MNQH6); the synthetic market models no other."""
    try:
        root = future_root(symbol)
    except SourceError:
        root = None
    if root != MODELLED_ROOT:
        raise VPError(
            f"symbol {symbol!r} is not modelled by the synthetic market, which is MNQ only "
            "(price about 21,500, tick 0.25): expected an MNQ contract, MNQ + month code "
            "(FGHJKMNQUVXZ) + 1-2 year digits, e.g. MNQH6"
        )
    return symbol


def _window_ns(dt: str, start_et: str, end_et: str) -> tuple[int, int]:
    start_ns = et_to_ns(dt, start_et, name="start_et")
    end_ns = et_to_ns(dt, end_et, name="end_et")
    if end_ns <= start_ns:
        raise VPError(
            f"end_et {end_et!r} must be after start_et {start_et!r}: expected a window within {dt}"
        )
    return start_ns, end_ns


def simulate(
    *,
    dt: str = DEFAULT_DT,
    start_et: str = DEFAULT_START_ET,
    end_et: str = DEFAULT_END_ET,
    seed: int = DEFAULT_SEED,
    planted_effect: bool = True,
    params: SynthParams | None = None,
) -> SynthResult:
    """Simulate one session in memory: MBO records (price_int, ns) plus the move log."""
    params = params or SynthParams()
    if seed < 0:
        raise VPError(f"seed {seed} is invalid: expected an integer >= 0")
    start_ns, end_ns = _window_ns(dt, start_et, end_et)
    open_ns = et_to_ns(dt, params.open_et, name="open_et")
    duration_s = (end_ns - start_ns) / 1e9
    vec = params.to_vector(
        duration_s=duration_s, open_rel_s=(open_ns - start_ns) / 1e9, planted=planted_effect
    )
    add_cdf = np.cumsum(ADD_PMF)
    trade_cdf = np.cumsum(TRADE_PMF)
    # A generous first guess; the kernel reports -1 when it runs out and is rerun with more room.
    cap = int(100_000 + duration_s * 800)
    moves = np.zeros((int(duration_s / 5) + 16, sk.N_MV_COLS), np.int64)
    while True:
        cols = (
            np.empty(cap, np.int64),
            np.empty(cap, np.int64),
            np.empty(cap, np.int32),
            np.empty(cap, np.uint64),
            np.empty(cap, np.int64),
            np.empty(cap, np.uint32),
            np.empty(cap, np.uint8),
            np.empty(cap, np.uint8),
            np.empty(cap, np.uint8),
            np.empty(cap, np.uint32),
        )
        n, n_moves, reached_ns = sk.simulate(
            vec,
            REGIMES,
            REGIME_TRANSITIONS,
            add_cdf,
            ADD_SIZES,
            trade_cdf,
            TRADE_SIZES,
            seed,
            start_ns,
            *cols,
            moves,
        )
        if n >= 0:
            break
        if n == sk.POOL_FULL:
            raise VPError(
                f"synthetic market ran out of its {sk.ORDER_POOL:,}-order pool "
                f"{reached_ns / 1e9:,.1f} s into the run: the parameters keep too many orders "
                "resting at once"
            )
        # Scale by how far the short run got, with room to spare.
        cap = int(cap * duration_s * 1e9 / max(reached_ns, 1) * 1.2) + 100_000
        log.info("synthetic record buffer too small; retrying with %d records", cap)
    ts, recv, delta, oid, px, size, flags, action, side, seq = cols
    rec = np.empty(n, MBO_RECORD_DTYPE)
    rec["length"] = MBO_RECORD_DTYPE.itemsize // 4
    rec["rtype"] = MBO_RTYPE
    rec["publisher_id"] = PUBLISHER_GLBX
    rec["instrument_id"] = INSTRUMENT_ID
    rec["ts_event"] = ts[:n]
    rec["order_id"] = oid[:n]
    rec["price"] = px[:n]
    rec["size"] = size[:n]
    rec["flags"] = flags[:n]
    rec["channel_id"] = 0
    rec["action"] = action[:n]
    rec["side"] = side[:n]
    rec["ts_recv"] = recv[:n]
    rec["ts_in_delta"] = delta[:n]
    rec["sequence"] = seq[:n]
    return SynthResult(
        records=rec, moves=moves[: min(n_moves, len(moves))], start_ns=start_ns, end_ns=end_ns
    )


class _Interval:
    def __init__(self, start_date: dt_mod.date, end_date: dt_mod.date, symbol: str) -> None:
        self.start_date = start_date
        self.end_date = end_date
        self.symbol = symbol


class _Mapping:
    def __init__(self, raw_symbol: str, intervals: list[_Interval]) -> None:
        self.raw_symbol = raw_symbol
        self.intervals = intervals


def encode_metadata(symbol: str, dt: str, start_ns: int, end_ns: int) -> bytes:
    """DBN metadata for one GLBX.MDP3 MBO day mapping ``symbol`` to INSTRUMENT_ID."""
    day = parse_date(dt)
    mapping = _Mapping(symbol, [_Interval(day, day + dt_mod.timedelta(days=1), str(INSTRUMENT_ID))])
    fields: dict[str, Any] = {
        "dataset": "GLBX.MDP3",
        "start": start_ns,
        "end": end_ns,
        "stype_in": databento_dbn.SType.RAW_SYMBOL,
        "stype_out": databento_dbn.SType.INSTRUMENT_ID,
        "schema": databento_dbn.Schema.MBO,
        "symbols": [symbol],
        "partial": [],
        "not_found": [],
        "mappings": [mapping],
        "version": DBN_VERSION,
    }
    meta = databento_dbn.Metadata(**fields)
    return bytes(meta.encode())


def write_dbn(path: Path, metadata: bytes, records: np.ndarray) -> None:
    """Write metadata + records; zstd-compressed when ``path`` ends in ``.zst``."""
    chunk = 1 << 20
    with path.open("wb") as raw:
        if path.suffix == ".zst":
            cctx = zstandard.ZstdCompressor(level=1)
            with cctx.stream_writer(raw, closefd=False) as out:
                out.write(metadata)
                for i in range(0, len(records), chunk):
                    out.write(records[i : i + chunk].tobytes())
        else:
            raw.write(metadata)
            for i in range(0, len(records), chunk):
                raw.write(records[i : i + chunk].tobytes())


def _busiest_hour(ts: np.ndarray, start_ns: int, end_ns: int) -> tuple[int, int]:
    """(records, window start ns) of the busiest 60-minute window starting on a minute."""
    minute = 60 * 1_000_000_000
    starts = np.arange(start_ns, max(end_ns - 60 * minute, start_ns) + 1, minute, dtype=np.int64)
    lo = np.searchsorted(ts, starts, side="left")
    hi = np.searchsorted(ts, starts + 60 * minute, side="left")
    best = int(np.argmax(hi - lo))
    return int(hi[best] - lo[best]), int(starts[best])


def generate_day(
    out_path: Path,
    *,
    symbol: str = DEFAULT_SYMBOL,
    dt: str = DEFAULT_DT,
    start_et: str = DEFAULT_START_ET,
    end_et: str = DEFAULT_END_ET,
    seed: int = DEFAULT_SEED,
    planted_effect: bool = True,
    params: SynthParams | None = None,
) -> SynthSummary:
    """Write one synthetic MBO session for ``symbol`` on ``dt`` (ET window) to ``out_path``.

    The same arguments always produce the same bytes. ``planted_effect=False`` is the null
    control: the same kind of moves happen without liquidity precursors. Only MNQ contracts
    are accepted (``check_symbol``). The file is written in place and not marked synthetic:
    use ``write_synthetic_file`` for anything a user or the lake will see.
    """
    check_symbol(symbol)
    t0 = time.perf_counter()
    result = simulate(
        dt=dt,
        start_et=start_et,
        end_et=end_et,
        seed=seed,
        planted_effect=planted_effect,
        params=params,
    )
    rec = result.records
    meta = encode_metadata(symbol, dt, result.start_ns, result.end_ns)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    write_dbn(out_path, meta, rec)
    wall = time.perf_counter() - t0

    chars, counts = np.unique(rec["action"], return_counts=True)
    action_counts = {chr(c): int(k) for c, k in zip(chars, counts, strict=True)}
    snapshot = int(
        np.count_nonzero(((rec["flags"] & F_SNAPSHOT) != 0) & (rec["action"] == sk.CH_ADD))
    )
    live_ts = rec["ts_event"][(rec["flags"] & F_SNAPSHOT) == 0].astype(np.int64)
    busy, busy_start = _busiest_hour(live_ts, result.start_ns, result.end_ns)
    summary = SynthSummary(
        path=out_path,
        records=len(rec),
        dbn_bytes=len(meta) + rec.nbytes,
        action_counts=action_counts,
        snapshot_orders=snapshot,
        busiest_hour_records=busy,
        busiest_hour_start_et=format_et(busy_start),
        moves=len(result.moves),
        wall_seconds=wall,
        records_per_second=len(rec) / wall if wall > 0 else float("inf"),
        planted_effect=planted_effect,
        seed=seed,
        symbol=symbol,
        dt=dt,
        start_et=start_et,
        end_et=end_et,
        params=params or SynthParams(),
    )
    log.info("synthetic day %s: %d records in %.2f s", out_path, len(rec), wall)
    return summary


def write_synthetic_file(out: Path, **kwargs: Any) -> SynthSummary:
    """``generate_day(out, **kwargs)`` through a hidden temp file beside ``out``, marked synthetic.

    The marker goes first, so a synthetic file never sits under its name without one. The temp
    file is removed whatever ends the write (an error, KeyboardInterrupt, SystemExit). ``out``
    must not exist (see ``remove_synthetic``).
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".synth-{os.getpid()}-{out.name}")
    try:
        summary = generate_day(tmp, **kwargs)
        sizes = {out.name: tmp.stat().st_size}
        if out.suffix == ".zst":  # the size once decompressed, too (`zstd -d` keeps the marker)
            sizes[out.name.removesuffix(".zst")] = summary.dbn_bytes
        write_marker(out, sizes, summary.settings())
        _place_no_clobber(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return replace(summary, path=out)


def _place_no_clobber(tmp: Path, out: Path) -> None:
    """Give ``tmp`` the name ``out`` unless a file took that name meanwhile (the download
    daemon placing the real day while this one was generated): raw data is never overwritten."""
    try:
        os.link(tmp, out)  # fails if out exists, atomically
    except FileExistsError:
        if not is_synthetic(out):
            marker_path(out).unlink(missing_ok=True)  # ours: it does not describe that file
        raise VPError(
            f"{out} appeared while the synthetic day was being written (a download?); it was "
            "left as it is"
        ) from None
    except OSError:  # a filesystem without hard links: check, then rename
        if out.exists():
            raise VPError(f"{out} appeared while the synthetic day was being written") from None
        os.replace(tmp, out)


def remove_synthetic(paths: Sequence[Path]) -> None:
    """Delete synthetic files (then their markers) so they can be written again.

    Raw data is never deleted: if any path is not a marked synthetic file, nothing is deleted and
    VPError names it.
    """
    real = [p for p in paths if not is_synthetic(p)]
    if real:
        raise VPError(
            f"{real[0]} is real data (no {marker_path(real[0]).name} recording it): raw files "
            "are never overwritten; --force replaces only a file written by vp synth"
        )
    for path in paths:
        path.unlink()
    for path in paths:
        marker_path(path).unlink(missing_ok=True)


def synth_lake_day(
    folder: Path,
    dt: str,
    *,
    symbol: str = DEFAULT_SYMBOL,
    force: bool = False,
    **kwargs: Any,
) -> tuple[Path, SynthSummary | None]:
    """Write the synthetic day of ``symbol`` on ``dt`` into the lake ``folder`` unless it has one.

    Returns (the day's raw file, None) when the folder already holds a raw file of that day, in
    either form (``.dbn.zst`` or ``.dbn``), real or synthetic; with ``force`` a synthetic day is
    replaced (a real file never is: VPError). Otherwise writes ``glbx-mdp3-YYYYMMDD.mbo.dbn.zst``
    with ``write_synthetic_file`` (``kwargs``: its window, seed, planted_effect, params).
    """
    check_symbol(symbol)
    existing = day_raw_files(folder, dt)
    if existing and not force:
        return existing[0], None
    remove_synthetic(existing)
    out = folder / lake.raw_file_name("future_mbo", parse_date(dt).strftime("%Y%m%d"))
    return out, write_synthetic_file(out, symbol=symbol, dt=dt, **kwargs)


def ensure_synthetic_day(
    config: InstrumentConfig,
    dt: str,
    root: Path,
    *,
    seed: int = DEFAULT_SEED,
    planted_effect: bool = True,
    force: bool = False,
    start_et: str = DEFAULT_START_ET,
    end_et: str = DEFAULT_END_ET,
) -> Path:
    """The lake's raw file for ``config.symbol`` on ``dt``, generated first if absent.

    The folder is ``lake.raw_mbo_dir(root, product_type, symbol_root)``; see ``synth_lake_day``.
    """
    if config.product_type != "future_mbo":
        raise VPError(
            f"product_type {config.product_type!r} has no synthetic market: expected 'future_mbo'"
        )
    folder = lake.raw_mbo_dir(root, config.product_type, config.symbol_root)
    path, summary = synth_lake_day(
        folder,
        dt,
        symbol=config.symbol,
        force=force,
        seed=seed,
        planted_effect=planted_effect,
        start_et=start_et,
        end_et=end_et,
    )
    if summary is not None:
        log.info(
            "synthetic %s %s written to %s (%d records)", config.symbol, dt, path, summary.records
        )
    return path


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``vp synth``."""
    ap = argparse.ArgumentParser(
        prog="vp synth",
        description="Write a synthetic MNQ MBO day (genuine DBN) into the lake or to --out.",
    )
    ap.add_argument("--symbol", default=DEFAULT_SYMBOL, help="contract (default MNQH6)")
    ap.add_argument("--dt", default=DEFAULT_DT, help="date YYYY-MM-DD (default 2026-02-06)")
    ap.add_argument("--start-et", default=DEFAULT_START_ET, help="ET start (default 08:00)")
    ap.add_argument("--end-et", default=DEFAULT_END_ET, help="ET end (default 12:00)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 7)")
    ap.add_argument(
        "--no-planted-effect",
        action="store_true",
        help="null control: no liquidity precursors before moves",
    )
    ap.add_argument(
        "--lake-root", type=Path, default=None, help="lake root (default: VP_LAKE_ROOT)"
    )
    ap.add_argument("--out", type=Path, default=None, help="write here instead of into the lake")
    ap.add_argument(
        "--force",
        action="store_true",
        help="replace an existing synthetic file (real data is never replaced)",
    )
    return ap


@interruptible
def main(argv: Sequence[str] | None = None) -> int:
    """``vp synth``: generate the file and print a summary; returns the exit code."""
    args = build_parser().parse_args(argv)
    gen = {
        "symbol": args.symbol,
        "dt": args.dt,
        "start_et": args.start_et,
        "end_et": args.end_et,
        "seed": args.seed,
        "planted_effect": not args.no_planted_effect,
    }
    try:
        check_symbol(args.symbol)
        if args.out is not None:
            if args.out.exists() and not args.force:
                raise VPError(
                    f"--out {args.out} exists; pass --force to replace it "
                    "(only a file written by vp synth is replaced)"
                )
            remove_synthetic([args.out] if args.out.exists() else [])
            summary = write_synthetic_file(args.out, **gen)
        else:
            root = args.lake_root or lake.lake_root()
            folder = lake.raw_mbo_dir(root, "future_mbo", future_root(args.symbol))
            path, maybe = synth_lake_day(folder, force=args.force, **gen)
            if maybe is None:
                kind = "synthetic" if is_synthetic(path) else "real data"
                print(  # noqa: T201
                    f"skipped: {folder} already holds {path.name} for {args.dt} ({kind}); "
                    "vp synth only fills a missing day (--force replaces a synthetic one)"
                )
                return 0
            summary = maybe
    except VPError as exc:
        print(f"error: {exc}")  # noqa: T201
        return 2
    print(summary.describe())  # noqa: T201
    return 0
