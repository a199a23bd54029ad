"""Test helpers: hand-built MBO event arrays, a Databento-rules reference book, random streams.

Imported by the engine and pipeline tests as ``import eventgen`` (pytest puts ``tests/`` on
``sys.path`` because of the root ``conftest.py``). Nothing here calls the engine's kernels: the
reference book is written from Databento's published rules, independently of the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vacuum_pressure.events import (
    ACTION_ADD,
    ACTION_CANCEL,
    ACTION_CLEAR,
    ACTION_FILL,
    ACTION_MODIFY,
    ACTION_TRADE,
    EVENT_DTYPE,
    F_LAST,
    F_SNAPSHOT,
    SIDE_ASK,
    SIDE_BID,
    SIDE_NONE,
)

NS = 1_000_000_000
HUGE_NS = 1 << 62
"""A time later than any record: ``run_until(..., warm_before=HUGE_NS, bin_end=HUGE_NS)`` runs
every record as warmup (full mechanics, no bin boundary)."""

T0 = 1_770_000_000 * NS
"""A base timestamp (2026-02-02 UTC) in ns."""

ES_TICK = 250_000_000
"""0.25 dollars in price_int units (price_scale 1e-9)."""


def ev(
    ts: int,
    action: int,
    side: int = SIDE_BID,
    price: int = 0,
    size: int = 0,
    oid: int = 0,
    flags: int = F_LAST,
) -> tuple[int, int, int, int, int, int, int]:
    """One record as a tuple for ``events``: (ts, action, side, price, size, order_id, flags)."""
    return (ts, action, side, price, size, oid, flags)


def events(records: Iterable[Sequence[int]]) -> np.ndarray:
    """EVENT_DTYPE array from ``ev`` tuples (ts_event = ts_recv = ts, sequence = row number)."""
    rows = list(records)
    out = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, (ts, action, side, price, size, oid, flags) in enumerate(rows):
        out[i] = (ts, ts, ts, oid, price, size, i, action, side, flags)
    return out


def run_all(engine: Any, evs: np.ndarray, start: int = 0, stop: int | None = None) -> int:
    """Process ``evs[start:stop]`` with full mechanics (all records count as warmup)."""
    stop = evs.shape[0] if stop is None else stop
    i, _ = engine.run_until(evs, start, stop, skip_before=0, warm_before=HUGE_NS, bin_end=HUGE_NS)
    return int(i)


# ---------------------------------------------------------------------------------------------
# Reference book (Databento's rules: only A, C, M and R change it)
# ---------------------------------------------------------------------------------------------
@dataclass
class ReferenceBook:
    """order_id -> (side, price, size) and per-price level sums, by Databento's book rules.

    A adds; C subtracts the record's size (the order leaves at 0); M replaces price and size
    (an unknown id is inserted); R clears; F, T and N change nothing.
    """

    orders: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)

    def _level(self, side: int) -> dict[int, int]:
        return self.bids if side == SIDE_BID else self.asks

    def _change(self, side: int, price: int, delta: int) -> None:
        level = self._level(side)
        new = level.get(price, 0) + delta
        if new:
            level[price] = new
        else:
            level.pop(price, None)

    def apply(self, action: int, side: int, price: int, size: int, oid: int) -> list[int]:
        """Apply one record; returns the prices whose level may have changed."""
        if action == ACTION_CLEAR:
            touched = list(self.bids) + list(self.asks)
            self.orders.clear()
            self.bids.clear()
            self.asks.clear()
            return touched
        if action == ACTION_ADD:
            self.orders[oid] = (side, price, size)
            self._change(side, price, size)
            return [price]
        if action == ACTION_CANCEL:
            if oid not in self.orders:
                return []
            o_side, o_price, o_size = self.orders[oid]
            left = o_size - size
            self._change(o_side, o_price, -min(size, o_size))
            if left > 0:
                self.orders[oid] = (o_side, o_price, left)
            else:
                del self.orders[oid]
            return [o_price]
        if action == ACTION_MODIFY:
            touched = [price]
            if oid in self.orders:
                o_side, o_price, o_size = self.orders[oid]
                self._change(o_side, o_price, -o_size)
                touched.append(o_price)
            self.orders[oid] = (side, price, size)
            self._change(side, price, size)
            return touched
        return []

    def apply_record(self, rec: np.void) -> list[int]:
        return self.apply(
            int(rec["action"]),
            int(rec["side"]),
            int(rec["price"]),
            int(rec["size"]),
            int(rec["order_id"]),
        )

    def best_bid(self) -> int:
        return max(self.bids) if self.bids else 0

    def best_ask(self) -> int:
        return min(self.asks) if self.asks else 0


# ---------------------------------------------------------------------------------------------
# Random valid MBO streams
# ---------------------------------------------------------------------------------------------
OP_ADD, OP_CANCEL, OP_MODIFY, OP_FILL, OP_TRADE, OP_SNAPSHOT, OP_PLAIN_CLEAR = range(7)


def build_stream(
    ops: Iterable[tuple[int, int, int, int, int]],
    *,
    base_tick: int = 20_000,
    band: int = 30,
    tick: int = ES_TICK,
    t0: int = T0,
) -> np.ndarray:
    """A valid MBO stream from abstract ops ``(kind, a, b, c, gap_us)``.

    ``a``, ``b``, ``c`` are free non-negative integers interpreted per kind (which live order,
    tick offset within ``+-band`` of ``base_tick``, size); ``gap_us`` is the time step before
    the op (0 keeps the timestamp). Fills are ``T``, ``F`` then the exchange's ``C`` (full fill)
    or ``M`` (partial) in one event; only the last record of an event has ``F_LAST``; a
    snapshot is ``R`` + ``F_SNAPSHOT`` followed by the surviving orders re-added with
    ``F_SNAPSHOT`` (the last also ``F_LAST``).
    """
    live: dict[int, tuple[int, int, int]] = {}  # Databento-book view of the live orders
    recs: list[tuple[int, int, int, int, int, int, int]] = []
    next_oid = 1
    ts = t0

    def price_of(offset: int) -> int:
        return (base_tick + (offset % (2 * band + 1)) - band) * tick

    for kind, a, b, c, gap_us in ops:
        ts += gap_us * 1000
        keys = sorted(live)
        if kind == OP_ADD or (not keys and kind in (OP_CANCEL, OP_MODIFY, OP_FILL)):
            side = SIDE_BID if a % 2 == 0 else SIDE_ASK
            size = 1 + c % 50
            price = price_of(b)
            live[next_oid] = (side, price, size)
            recs.append(ev(ts, ACTION_ADD, side, price, size, next_oid))
            next_oid += 1
        elif kind == OP_CANCEL:
            oid = keys[a % len(keys)]
            side, price, size = live.pop(oid)
            recs.append(ev(ts, ACTION_CANCEL, side, price, size, oid))
        elif kind == OP_MODIFY:
            oid = keys[a % len(keys)]
            side, price, size = live[oid]
            new_price = price if b % 3 == 0 else price_of(b)
            new_size = 1 + c % 50
            live[oid] = (side, new_price, new_size)
            recs.append(ev(ts, ACTION_MODIFY, side, new_price, new_size, oid))
        elif kind == OP_FILL:
            oid = keys[a % len(keys)]
            side, price, size = live[oid]
            fill = 1 + c % size
            aggressor = SIDE_ASK if side == SIDE_BID else SIDE_BID
            recs.append(ev(ts, ACTION_TRADE, aggressor, price, fill, 0, 0))
            recs.append(ev(ts, ACTION_FILL, side, price, fill, oid, 0))
            if fill == size:
                del live[oid]
                recs.append(ev(ts, ACTION_CANCEL, side, price, size, oid))
            else:
                live[oid] = (side, price, size - fill)
                recs.append(ev(ts, ACTION_MODIFY, side, price, size - fill, oid))
        elif kind == OP_TRADE:
            recs.append(ev(ts, ACTION_TRADE, SIDE_NONE, price_of(b), 1 + c % 10, 0))
        elif kind == OP_SNAPSHOT:
            recs.append(ev(ts, ACTION_CLEAR, SIDE_NONE, 0, 0, 0, F_SNAPSHOT))
            snap = sorted(live.items())
            for j, (oid, (side, price, size)) in enumerate(snap):
                flags = F_SNAPSHOT | (F_LAST if j == len(snap) - 1 else 0)
                recs.append(ev(ts, ACTION_ADD, side, price, size, oid, flags))
            if not snap:
                # An empty snapshot still ends with an F_LAST record.
                recs.append(ev(ts, ACTION_TRADE, SIDE_NONE, 0, 0, 0, F_SNAPSHOT | F_LAST))
        elif kind == OP_PLAIN_CLEAR:
            live.clear()
            recs.append(ev(ts, ACTION_CLEAR, SIDE_NONE, 0, 0, 0, F_LAST))
    return events(recs)


def random_ops(rng: np.random.Generator, n: int) -> list[tuple[int, int, int, int, int]]:
    """``n`` random ops for ``build_stream``: mostly adds/cancels/modifies/fills, rare clears."""
    kinds = rng.choice(7, size=n, p=[0.36, 0.2, 0.2, 0.12, 0.1, 0.01, 0.01])
    vals = rng.integers(0, 1 << 20, size=(n, 3))
    gaps = rng.choice([0, 1, 50, 1_000, 200_000, 3_000_000], size=n)
    return [
        (int(k), int(v[0]), int(v[1]), int(v[2]), int(g))
        for k, v, g in zip(kinds, vals, gaps, strict=True)
    ]


# ---------------------------------------------------------------------------------------------
# Small instrument configs for pipeline tests
# ---------------------------------------------------------------------------------------------
def small_config_raw(**overrides: Any) -> dict[str, Any]:
    """A valid raw config mapping (futures, 0.25 tick, 100 ms bins, 64 ticks, radius 5)."""
    raw: dict[str, Any] = {
        "product_type": "future_mbo",
        "symbol": "MNQH6",
        "symbol_root": "MNQ",
        "price_scale": 1e-9,
        "tick_size": 0.25,
        "bucket_size_dollars": 0.25,
        "rel_tick_size": 0.25,
        "grid_radius_ticks": 5,
        "cell_width_ms": 100,
        "n_absolute_ticks": 64,
        "spectrum_windows": [5, 10, 20, 40],
        "spectrum_rollup_weights": [1.0, 1.0, 1.0, 1.0],
        "spectrum_derivative_weights": [0.55, 0.30, 0.15],
        "spectrum_tanh_scale": 3.0,
        "spectrum_threshold_neutral": 0.15,
        "zscore_window_bins": 300,
        "zscore_min_periods": 75,
        "projection_horizons_bins": [1, 2, 3, 4],
        "contract_multiplier": 2.0,
        "qty_unit": "contracts",
        "price_decimals": 2,
    }
    raw.update(overrides)
    return raw
