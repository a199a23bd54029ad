"""DBN replay source: decoding, the reference filter order, ts normalisation and errors.

Real files come from the shared data folder (skipped when absent); the filter rules are also
checked on a small DBN file written here with databento_dbn, so they run everywhere.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import databento
import databento_dbn as dbn
import numpy as np
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from testdata import require_shared
from vacuum_pressure.config import load_config
from vacuum_pressure.errors import DataFileNotFoundError, SourceError
from vacuum_pressure.events import (
    ACTION_ADD,
    ACTION_CANCEL,
    ACTION_CLEAR,
    ACTION_FILL,
    ACTION_MODIFY,
    ACTION_TRADE,
    EVENT_DTYPE,
    F_BAD_TS_RECV,
    F_LAST,
    F_SNAPSHOT,
    SIDE_ASK,
    SIDE_BID,
    SIDE_NONE,
)
from vacuum_pressure.lake import raw_mbo_dir
from vacuum_pressure.source import DbnSource, open_replay
from vacuum_pressure.source.dbn import MBO_RECORD_DTYPE

ESH4 = "real/glbx-mdp3/esh4-glbx-mdp3-20231225.mbo.dbn.zst"
ESM4 = "real/glbx-mdp3/orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst"
ARL = "real/xnas-itch/xnas-itch-20250717.ARL.mbo.dbn.zst"
DEFINITION = "real/glbx-mdp3/definition-glbx-es-fut.dbn.zst"
UNDEF = dbn.UNDEF_PRICE


def _ns(text: str) -> int:
    """ISO UTC time (``2023-12-24T13:00:05``) to epoch ns, whole seconds."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()) * 1_000_000_000


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- real files


@pytest.fixture(scope="module")
def esh4() -> tuple[DbnSource, np.ndarray]:
    source = DbnSource(
        require_shared(ESH4), symbol="ESH4", product_type="future_mbo", dt="2023-12-25"
    )
    return source, source.read_all()


def test_esh4_decodes_every_record_of_the_instrument(esh4: tuple[DbnSource, np.ndarray]) -> None:
    source, events = esh4
    assert events.dtype == EVENT_DTYPE
    assert len(events) == 68_792
    assert source.instrument_id == 17077
    assert source.symbols_in_file == ("ESH4",)
    assert source.metadata.version == 1
    codes, counts = np.unique(events["action"], return_counts=True)
    assert dict(zip(codes.tolist(), counts.tolist(), strict=True)) == {
        ACTION_ADD: 29_216,
        ACTION_CANCEL: 17_999,
        ACTION_MODIFY: 12_233,
        ACTION_FILL: 6_371,
        ACTION_TRADE: 2_973,
    }
    assert source.stats.as_dict() == {
        "records_read": 68_792,
        "non_mbo": 0,
        "unmapped_passed": 0,
        "unmapped_dropped": 0,
        "spreads": 0,
        "other_instruments": 0,
        "outside_session": 0,
        "undefined_price_skipped": 0,
        "undefined_price_zeroed": 0,
        "emitted": 68_792,
    }


def test_esh4_snapshot_keeps_its_own_ts_without_an_r(esh4: tuple[DbnSource, np.ndarray]) -> None:
    _, events = esh4
    snapshot = (events["flags"] & F_SNAPSHOT) != 0
    assert int(snapshot.sum()) == 8_725
    assert snapshot[:8_725].all()
    # No R in the file: the snapshot keeps ts_event 2023-12-24 13:00:05 and, although outside
    # the 2023-12-25 UTC session day, is exempt from the window.
    assert set((events["ts"][snapshot] // 1_000_000_000).tolist()) == {
        _ns("2023-12-24T13:00:05") // 1_000_000_000
    }
    assert (events["ts"] == events["ts_event"]).all()
    assert (events["ts_recv"][snapshot] == _ns("2023-12-25T00:00:00")).all()


def test_esh4_fields_match_databentos_own_decoder(esh4: tuple[DbnSource, np.ndarray]) -> None:
    _, events = esh4
    ref = databento.DBNStore.from_file(require_shared(ESH4)).to_ndarray()
    for name in ("ts_event", "ts_recv", "order_id", "price", "size", "sequence", "flags"):
        assert (events[name] == ref[name]).all(), name
    assert (
        "".join("NACMFTR"[c] for c in events["action"][:5]) == b"".join(ref["action"][:5]).decode()
    )
    side_chars = np.array([b"B", b"A", b"N"])[events["side"]]
    assert (side_chars == ref["side"]).all()


def test_esh4_chunked_decoding_equals_read_all(esh4: tuple[DbnSource, np.ndarray]) -> None:
    source, events = esh4
    chunks = list(source.iter_chunks(chunk_records=1000))
    assert len(chunks) == 69
    assert all(len(c) == 1000 for c in chunks[:-1])
    assert np.array_equal(np.concatenate(chunks), events)


def test_decoding_leaves_the_raw_file_unchanged(tmp_path: Path) -> None:
    copy = tmp_path / "esh4.mbo.dbn.zst"
    copy.write_bytes(require_shared(ESH4).read_bytes())
    before = _sha256(copy)
    DbnSource(copy, symbol="ESH4", product_type="future_mbo", dt="2023-12-25").read_all()
    assert _sha256(copy) == before == _sha256(require_shared(ESH4))


def test_esm4_snapshot_takes_the_r_records_ts() -> None:
    source = DbnSource(
        require_shared(ESM4), symbol="ESM4", product_type="future_mbo", dt="2024-05-08"
    )
    events = source.read_all()
    assert len(events) == 13_796
    assert source.instrument_id == 5602
    r_ts = 1_714_910_404_570_304_567  # the R record's own (old) ts_event
    assert events["action"][0] == ACTION_CLEAR
    assert events["flags"][0] == F_SNAPSHOT | F_BAD_TS_RECV
    assert events["price"][0] == 0  # the R's undefined price becomes 0
    assert source.stats.undefined_price_zeroed == 1
    assert (events["ts"][:13_601] == r_ts).all()
    assert (events["ts_event"][1:13_601] != r_ts).any()
    live = events[13_601:]
    assert len(live) == 195
    assert (live["flags"] & F_SNAPSHOT == 0).all()
    assert (live["ts"] == live["ts_event"]).all()
    assert (live["ts"] >= _ns("2024-05-08T00:00:00")).all()


@pytest.mark.parametrize(
    "name",
    [
        "test_data.mbo.dbn",
        "test_data.mbo.v1.dbn.zst",
        "test_data.mbo.v2.dbn.zst",
        "test_data.mbo.v3.dbn.zst",
    ],
)
def test_dbn_fixtures_of_every_version_decode(name: str) -> None:
    path = require_shared(f"real/dbn-fixtures/{name}")
    source = DbnSource(path, symbol="ESH1", product_type="future_mbo", dt="2020-12-28")
    events = source.read_all()
    assert source.instrument_id == 5482
    assert events["order_id"].tolist() == [647_784_973_705, 647_784_973_631]
    assert events["price"].tolist() == [3_722_750_000_000, 3_723_000_000_000]
    assert events["ts"].tolist() == [1_609_160_400_000_429_831, 1_609_160_400_000_431_665]
    assert events["action"].tolist() == [ACTION_CANCEL, ACTION_CANCEL]
    assert events["side"].tolist() == [SIDE_ASK, SIDE_ASK]
    assert events["sequence"].tolist() == [1_170_352, 1_170_353]


def test_equity_file_resolves_from_the_lake_and_drops_after_16_et(lake: Path) -> None:
    folder = raw_mbo_dir(lake, "equity_mbo", "ARL")
    folder.mkdir(parents=True)
    (folder / "xnas-itch-20250717.ARL.mbo.dbn.zst").symlink_to(require_shared(ARL))
    config = dataclasses.replace(
        load_config(), product_type="equity_mbo", symbol="ARL", symbol_root="ARL"
    )
    source = open_replay(config, "2025-07-17")
    assert source.path == folder / "xnas-itch-20250717.ARL.mbo.dbn.zst"
    events = source.read_all()
    raw = databento.DBNStore.from_file(require_shared(ARL)).to_ndarray()
    assert len(raw) == 5_886
    # 16:00 EDT is 20:00 UTC; the file runs to 20:47 UTC and has no snapshot records.
    after_close = int(np.count_nonzero(raw["ts_event"] >= _ns("2025-07-17T20:00:00")))
    assert after_close == 139
    assert source.stats.outside_session == after_close
    assert len(events) == 5_886 - 139
    assert int(events["ts"].max()) < _ns("2025-07-17T20:00:00")
    assert source.instrument_id == 1108
    assert events["action"][0] == ACTION_CLEAR


def test_open_replay_resolves_a_future_by_its_root(lake: Path) -> None:
    folder = raw_mbo_dir(lake, "future_mbo", "ES")
    folder.mkdir(parents=True)
    (folder / "glbx-mdp3-20231225.mbo.dbn.zst").symlink_to(require_shared(ESH4))
    config = dataclasses.replace(load_config(), symbol="ESH4", symbol_root="ES")
    source = open_replay(config, "2023-12-25", root=lake)
    assert source.instrument_id == 17077


# ---------------------------------------------------------------- errors on real files


def test_unknown_symbol_lists_the_files_symbols() -> None:
    with pytest.raises(SourceError) as err:
        DbnSource(require_shared(ESH4), symbol="ESM4", product_type="future_mbo", dt="2023-12-25")
    msg = str(err.value)
    assert "symbol 'ESM4' is not in raw file" in msg
    assert "on 2023-12-25: the file maps ESH4." in msg


def test_unknown_symbol_on_another_date_says_what_the_file_covers() -> None:
    with pytest.raises(SourceError) as err:
        DbnSource(require_shared(ESH4), symbol="ESH4", product_type="future_mbo", dt="2023-12-27")
    assert "the file has no symbology mapping for that date (its mappings name ESH4" in str(
        err.value
    )


def test_truncated_zst_file_is_reported(tmp_path: Path) -> None:
    data = require_shared(ESH4).read_bytes()
    cut = tmp_path / "glbx-mdp3-20231225.mbo.dbn.zst"
    cut.write_bytes(data[: len(data) // 2])
    source = DbnSource(cut, symbol="ESH4", product_type="future_mbo", dt="2023-12-25")
    with pytest.raises(SourceError) as err:
        source.read_all()
    msg = str(err.value)
    assert f"raw file {cut} is truncated or corrupt" in msg
    assert "the last zstd frame is incomplete" in msg
    assert "re-download it" in msg


def test_file_cut_inside_the_header_is_reported(tmp_path: Path) -> None:
    cut = tmp_path / "cut.dbn.zst"
    cut.write_bytes(require_shared(ESH4).read_bytes()[:50])
    with pytest.raises(SourceError, match=r"is truncated or corrupt .*re-download"):
        DbnSource(cut, symbol="ESH4", product_type="future_mbo", dt="2023-12-25")


def test_definition_file_is_refused_as_wrong_schema() -> None:
    path = require_shared(DEFINITION)
    with pytest.raises(SourceError) as err:
        DbnSource(path, symbol="ESM3", product_type="future_mbo", dt="2023-04-03")
    assert f"raw file {path} holds schema 'definition'; the replay needs an MBO file" in str(
        err.value
    )


def test_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(DataFileNotFoundError, match=r"does not exist or is not a file"):
        DbnSource(tmp_path / "nope.dbn", symbol="ESH4", product_type="future_mbo", dt=None)
    text = tmp_path / "notes.dbn"
    text.write_bytes(b"hello, this is not market data")
    with pytest.raises(SourceError, match=r"is neither DBN nor zstd-compressed DBN"):
        DbnSource(text, symbol="ESH4", product_type="future_mbo", dt=None)
    empty = tmp_path / "empty.dbn"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match=r"truncated or corrupt \(the file is empty\)"):
        DbnSource(empty, symbol="ESH4", product_type="future_mbo", dt=None)


def test_bad_constructor_inputs(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"symbol 'es h4' is invalid"):
        DbnSource(tmp_path / "x.dbn", symbol="es h4", product_type="future_mbo", dt=None)
    with pytest.raises(SourceError, match=r"product_type 'fut' is invalid"):
        DbnSource(tmp_path / "x.dbn", symbol="ESH4", product_type="fut", dt=None)
    with pytest.raises(Exception, match=r"date '20231225' is invalid: expected YYYY-MM-DD"):
        DbnSource(tmp_path / "x.dbn", symbol="ESH4", product_type="future_mbo", dt="20231225")


# ---------------------------------------------------------------- hand-built file

DAY = "2024-01-02"
T0 = _ns("2024-01-02T14:00:00")
T_OLD = _ns("2024-01-01T13:00:00")  # a snapshot's stale ts_event
T_R = _ns("2024-01-01T12:00:00")  # first R with F_SNAPSHOT (itself outside the session day)
T_R2 = _ns("2024-01-02T15:00:00")  # second R, of another instrument
ES, SPREAD, OTHER, UNMAPPED = 1, 2, 3, 99
SNAP = F_SNAPSHOT | F_BAD_TS_RECV

A, C, M, T, R = (
    dbn.Action.ADD,
    dbn.Action.CANCEL,
    dbn.Action.MODIFY,
    dbn.Action.TRADE,
    dbn.Action.CLEAR,
)
B, S, N = dbn.Side.BID, dbn.Side.ASK, dbn.Side.NONE

# (instrument, ts_event, order_id, price, action, side, flags). The comment says what the
# default source must do with the row and why.
ROWS = [
    (ES, T0, 10, UNDEF, A, B, F_LAST),  # 0 skipped: undefined price on an Add
    (ES, T0 + 1, 11, 100, A, B, F_LAST),  # 1 kept
    (ES, T0 + 2, 11, UNDEF, C, B, F_LAST),  # 2 kept with price 0
    (SPREAD, T0 + 3, 12, 5, A, S, F_LAST),  # 3 dropped: spread
    (OTHER, T0 + 4, 13, 101, A, S, F_LAST),  # 4 dropped: other symbol
    (UNMAPPED, T0 + 5, 14, 102, A, S, F_LAST),  # 5 kept (dropped when strict)
    (ES, T_OLD, 15, 103, A, B, SNAP),  # 6 kept, own ts: no R with F_SNAPSHOT yet
    (ES, T_OLD, 16, 104, A, B, 0),  # 7 dropped: outside the session day
    (ES, T_R, 0, UNDEF, R, N, SNAP),  # 8 kept (R exempt), price 0, starts the snapshot
    (ES, T_OLD, 17, 105, A, B, SNAP),  # 9 kept, ts = T_R
    (ES, T_OLD, 18, 106, A, S, SNAP | F_LAST),  # 10 kept, ts = T_R, ends the snapshot
    (ES, T0 + 6, 19, 107, A, S, F_LAST),  # 11 kept, own ts
    (ES, T_OLD, 20, 108, A, B, SNAP),  # 12 kept, ts = T_R (the anchor is never reset)
    (OTHER, T_R2, 0, UNDEF, R, N, SNAP),  # 13 dropped, but moves the anchor first
    (ES, T_OLD, 21, 109, A, B, SNAP),  # 14 kept, ts = T_R2
    (ES, T0 + 7, 21, UNDEF, M, B, F_LAST),  # 15 skipped: undefined price on a Modify
    (ES, T0 + 8, 0, UNDEF, T, N, F_LAST),  # 16 kept with price 0
]
KEPT = [1, 2, 5, 6, 8, 9, 10, 11, 12, 14, 16]
EXPECTED_TS = {1: T0 + 1, 2: T0 + 2, 5: T0 + 5, 6: T_OLD, 8: T_R, 9: T_R, 10: T_R}
EXPECTED_TS |= {11: T0 + 6, 12: T_R, 14: T_R2, 16: T0 + 8}


@dataclass
class _Interval:
    start_date: date
    end_date: date
    symbol: str


@dataclass
class _Mapping:
    raw_symbol: str
    intervals: list[_Interval]


def _write_dbn(
    path: Path,
    *,
    version: int = 3,
    compress: bool = False,
    rows: list[tuple[int, int, int, int, dbn.Action, dbn.Side, int]] = ROWS,
) -> Path:
    day, next_day = date(2024, 1, 2), date(2024, 1, 3)
    mappings = [
        _Mapping(raw, [_Interval(day, next_day, str(ident))])
        for raw, ident in (("ESH4", ES), ("ESH4-ESM4", SPREAD), ("ESM4", OTHER))
    ]
    metadata = dbn.Metadata(
        "GLBX.MDP3",
        _ns("2024-01-02T00:00:00"),
        dbn.SType.RAW_SYMBOL,
        dbn.SType.INSTRUMENT_ID,
        dbn.Schema.MBO,
        symbols=["ESH4", "ESH4-ESM4", "ESM4"],
        mappings=mappings,
        end=_ns("2024-01-03T00:00:00"),
        version=version,
    )
    body = b"".join(
        bytes(
            dbn.MBOMsg(
                1, ident, ts, order_id, price, 3, action, side, ts, flags=flags, sequence=seq
            )
        )
        for seq, (ident, ts, order_id, price, action, side, flags) in enumerate(rows)
    )
    data = bytes(metadata) + body
    path.write_bytes(zstandard.ZstdCompressor().compress(data) if compress else data)
    return path


@pytest.fixture
def handmade(tmp_path: Path) -> Path:
    return _write_dbn(tmp_path / "glbx-mdp3-20240102.mbo.dbn")


def _source(path: Path, **kwargs: object) -> DbnSource:
    return DbnSource(path, symbol="ESH4", product_type="future_mbo", dt=DAY, **kwargs)  # type: ignore[arg-type]


def test_handmade_filters_in_reference_order(
    handmade: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = _source(handmade)
    with caplog.at_level(logging.WARNING, logger="vacuum_pressure.source.dbn"):
        events = source.read_all()
    assert events["sequence"].tolist() == KEPT
    assert events["ts"].tolist() == [EXPECTED_TS[i] for i in KEPT]
    assert events["ts_event"].tolist() == [ROWS[i][1] for i in KEPT]
    assert events["price"].tolist() == [100, 0, 102, 103, 0, 105, 106, 107, 108, 109, 0]
    assert events["action"].tolist() == [
        ACTION_ADD, ACTION_CANCEL, ACTION_ADD, ACTION_ADD, ACTION_CLEAR, ACTION_ADD,
        ACTION_ADD, ACTION_ADD, ACTION_ADD, ACTION_ADD, ACTION_TRADE,
    ]  # fmt: skip
    assert events["side"].tolist() == [
        SIDE_BID, SIDE_BID, SIDE_ASK, SIDE_BID, SIDE_NONE, SIDE_BID,
        SIDE_ASK, SIDE_ASK, SIDE_BID, SIDE_BID, SIDE_NONE,
    ]  # fmt: skip
    assert (events["size"] == 3).all()
    assert source.stats.as_dict() == {
        "records_read": 17,
        "non_mbo": 0,
        "unmapped_passed": 1,
        "unmapped_dropped": 0,
        "spreads": 1,
        "other_instruments": 2,
        "outside_session": 1,
        "undefined_price_skipped": 2,
        "undefined_price_zeroed": 3,
        "emitted": 11,
    }
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("skipped 2 Add/Modify records with an undefined price" in w for w in warnings)
    assert sum("undefined price" in w for w in warnings) == 1


def test_handmade_strict_instrument_filter_drops_unmapped_ids(handmade: Path) -> None:
    source = _source(handmade, strict_instrument_filter=True)
    events = source.read_all()
    assert events["sequence"].tolist() == [i for i in KEPT if i != 5]
    assert source.stats.unmapped_dropped == 1
    assert source.stats.unmapped_passed == 0


def test_handmade_snapshot_state_carries_across_chunks(handmade: Path) -> None:
    whole = _source(handmade).read_all()
    for size in (1, 2, 3, 5):
        chunks = list(_source(handmade).iter_chunks(chunk_records=size))
        assert len(chunks) == -(-len(ROWS) // size)
        assert np.array_equal(np.concatenate(chunks), whole), size


def test_handmade_without_date_keeps_everything_in_time(handmade: Path) -> None:
    source = DbnSource(handmade, symbol="ESH4", product_type="future_mbo", dt=None)
    events = source.read_all()
    assert 7 in events["sequence"].tolist()
    assert source.stats.outside_session == 0
    assert source.session_window_ns is None


def test_equities_keep_instruments_with_a_dash(tmp_path: Path) -> None:
    # Only futures drop '-' symbols as spreads; for equities the row is just another symbol.
    source = DbnSource(
        _write_dbn(tmp_path / "x.dbn"), symbol="ESH4", product_type="equity_mbo", dt=None
    )
    source.read_all()
    assert source.stats.spreads == 0
    assert source.stats.other_instruments == 3


@pytest.mark.parametrize(("version", "compress"), [(1, True), (2, False), (3, True)])
def test_handmade_versions_and_compression_decode_alike(
    tmp_path: Path, handmade: Path, version: int, compress: bool
) -> None:
    path = _write_dbn(tmp_path / f"v{version}.dbn", version=version, compress=compress)
    assert np.array_equal(_source(path).read_all(), _source(handmade).read_all())


def test_record_cut_off_in_an_uncompressed_file(tmp_path: Path, handmade: Path) -> None:
    cut = tmp_path / "cut.dbn"
    cut.write_bytes(handmade.read_bytes()[:-10])
    source = _source(cut)
    chunks = []
    with pytest.raises(SourceError) as err:
        chunks.extend(source.iter_chunks(chunk_records=4))
    assert "the last record is cut off (46 of 56 bytes)" in str(err.value)
    assert "re-download" in str(err.value)
    # The complete records before the cut were delivered first.
    assert sum(len(c) for c in chunks) == len(KEPT) - 1


def test_own_record_dtype_is_databentos_mbo_layout() -> None:
    assert MBO_RECORD_DTYPE.itemsize == 56
    ref = np.dtype(dbn.MBOMsg._dtypes)
    assert MBO_RECORD_DTYPE.names == ref.names
    for name in ref.names or ():
        assert MBO_RECORD_DTYPE.fields[name][1] == ref.fields[name][1], name  # type: ignore[index]


# ---------------------------------------------------------------- property: vectorised == loop


def _reference_loop(rows: list[tuple], strict: bool) -> list[tuple[int, int, int]]:
    """The reference system's per-record filter, written as the plain loop it describes.

    Returns (sequence, ts, price) of the records the source must emit for ESH4 on DAY.
    """
    start, end = _ns("2024-01-02T00:00:00"), _ns("2024-01-03T00:00:00")
    symbol_of = {ES: "ESH4", SPREAD: "ESH4-ESM4", OTHER: "ESM4"}
    snapshot_active, anchor_ts = False, 0
    out = []
    for seq, (ident, ts_event, _order, price, action, _side, flags) in enumerate(rows):
        if action == R and flags & F_SNAPSHOT:
            snapshot_active, anchor_ts = True, ts_event
        elif snapshot_active and flags & F_LAST:
            snapshot_active = False
        ts = anchor_ts if flags & F_SNAPSHOT and anchor_ts > 0 else ts_event
        mapped = symbol_of.get(ident)
        if mapped is None and strict:
            continue
        if mapped is not None and ("-" in mapped or mapped != "ESH4"):
            continue
        if not start <= ts < end and not flags & F_SNAPSHOT and action != R:
            continue
        if price == UNDEF:
            if action in (A, M):
                continue
            price = 0
        out.append((seq, ts, price))
    return out


_row = st.tuples(
    st.sampled_from([ES, ES, ES, SPREAD, OTHER, UNMAPPED]),
    st.sampled_from([T0, T0 + 1, T0 + 2, T_OLD, T_R, T_R2, _ns("2024-01-03T00:00:00")]),
    st.integers(0, 50),
    st.sampled_from([100, 101, UNDEF]),
    st.sampled_from([A, C, M, T, R, dbn.Action.FILL, dbn.Action.NONE]),
    st.sampled_from([B, S, N]),
    st.sampled_from([0, F_LAST, SNAP, SNAP | F_LAST, F_SNAPSHOT]),
)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(_row, min_size=1, max_size=40), chunk=st.integers(1, 9), strict=st.booleans())
def test_vectorised_filters_equal_the_reference_loop(
    rows: list[tuple], chunk: int, strict: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _write_dbn(Path(folder) / "prop.dbn", rows=rows)
        source = _source(path, strict_instrument_filter=strict)
        events = np.concatenate(list(source.iter_chunks(chunk_records=chunk)))
    expected = _reference_loop(rows, strict)
    got = list(
        zip(
            events["sequence"].tolist(),
            events["ts"].tolist(),
            events["price"].tolist(),
            strict=True,
        )
    )
    assert got == expected
    assert source.stats.emitted == len(expected)
    assert source.stats.records_read == len(rows)
