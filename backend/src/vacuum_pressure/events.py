"""The one event representation every source produces and every kernel consumes.

Databento MBO records are mapped once, at ingest, to ``EVENT_DTYPE`` rows with small integer
action/side codes, so the hot loops never compare characters or build Python objects.
"""

from __future__ import annotations

import numpy as np

# Action codes (Databento character in comments).
ACTION_NONE = 0  # 'N': no book change
ACTION_ADD = 1  # 'A'
ACTION_CANCEL = 2  # 'C': cancel the remaining quantity
ACTION_MODIFY = 3  # 'M'
ACTION_FILL = 4  # 'F': a resting order filled (the book changes with the following C/M)
ACTION_TRADE = 5  # 'T': aggressor trade, never changes the book
ACTION_CLEAR = 6  # 'R': clear the book (a snapshot usually follows)

ACTION_BY_CHAR = {b"N": 0, b"A": 1, b"C": 2, b"M": 3, b"F": 4, b"T": 5, b"R": 6}
ACTION_CHARS = "NACMFTR"
"""ACTION_CHARS[code] is the Databento character of an action code."""

# Side codes. The engine treats anything but BID as the ask side, like the reference.
SIDE_BID = 0  # 'B'
SIDE_ASK = 1  # 'A'
SIDE_NONE = 2  # 'N'

SIDE_BY_CHAR = {b"B": SIDE_BID, b"A": SIDE_ASK, b"N": SIDE_NONE}
SIDE_CHARS = "BAN"

# Record flags (Databento).
F_LAST = 128  # last record of an event: the book is consistent here
F_TOB = 64
F_SNAPSHOT = 32  # part of a book snapshot
F_MBP = 16
F_BAD_TS_RECV = 8
F_MAYBE_BAD_BOOK = 4

UNDEF_PRICE = np.iinfo(np.int64).max
"""Databento's undefined price (INT64_MAX)."""

EVENT_DTYPE = np.dtype(
    [
        ("ts", "<i8"),  # event time in ns: ts_event, or the R record's ts for snapshot records
        ("ts_event", "<i8"),  # the record's own ts_event in ns
        ("ts_recv", "<i8"),  # capture-server receive time in ns
        ("order_id", "<u8"),
        ("price", "<i8"),  # price_int (units of price_scale); 0 where undefined
        ("size", "<i8"),
        ("sequence", "<u4"),
        ("action", "i1"),  # ACTION_* code
        ("side", "i1"),  # SIDE_* code
        ("flags", "u1"),
    ]
)
"""One MBO record of the selected instrument, in file order."""


def empty_events(n: int = 0) -> np.ndarray:
    """A zeroed event array of length ``n``."""
    return np.zeros(n, dtype=EVENT_DTYPE)
