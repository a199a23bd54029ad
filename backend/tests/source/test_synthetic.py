"""Synthetic MNQ market: determinism, Databento book rules, DBN round trip, realistic statistics
and the planted vacuum/pressure precursor (with its null control)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import databento as db
import numpy as np
import pytest
import zstandard

from vacuum_pressure.config import load_config
from vacuum_pressure.errors import VPError
from vacuum_pressure.events import F_LAST, F_SNAPSHOT, UNDEF_PRICE
from vacuum_pressure.source import synth_kernel as sk
from vacuum_pressure.source import synthetic as synth
from vacuum_pressure.source.dbn import MBO_RECORD_DTYPE
from vacuum_pressure.source.synth_marker import is_synthetic, marker_path
from vacuum_pressure.timeutil import et_to_ns

TICK = 250_000_000
A, C, M, F, T, R = (ord(x) for x in "ACMFTR")


@cache
def _sim(start_et: str, end_et: str, seed: int = 7, planted: bool = True) -> synth.SynthResult:
    return synth.simulate(start_et=start_et, end_et=end_et, seed=seed, planted_effect=planted)


def _reference_book_errors(rec: np.ndarray) -> tuple[list[str], int]:
    """Replay with Databento's rules (only A/C/M/R change the book); list every violation.

    Returns (violations, F_LAST records checked).
    """
    orders: dict[int, tuple[int, int, int]] = {}
    depth: tuple[dict[int, int], dict[int, int]] = ({}, {})
    bid = ask = None
    errors: list[str] = []
    checked = 0
    for i, r in enumerate(rec.tolist()):
        # Field order of dbn.MBO_RECORD_DTYPE.
        _, _, _, _, _, oid, px, size, flags, _, action, side_ch, _, _, _ = r
        side = 0 if side_ch == ord("B") else 1
        if action == R:
            orders.clear()
            depth[0].clear()
            depth[1].clear()
        elif action == A:
            if oid in orders:
                errors.append(f"{i}: duplicate add {oid}")
            orders[oid] = (side, px, size)
            depth[side][px] = depth[side].get(px, 0) + size
        elif action in (C, M):
            if oid not in orders:
                errors.append(f"{i}: {chr(action)} of unknown order {oid}")
                continue
            o_side, o_px, o_size = orders.pop(oid)
            book = depth[o_side]
            book[o_px] -= o_size
            if book[o_px] < 0:
                errors.append(f"{i}: negative depth at {o_px}")
            if book[o_px] == 0:
                del book[o_px]
            if action == M:
                orders[oid] = (side, px, size)
                depth[side][px] = depth[side].get(px, 0) + size
        elif action == F:
            if oid not in orders:
                errors.append(f"{i}: fill of unknown order {oid}")
            elif size > orders[oid][2]:
                errors.append(f"{i}: fill {size} > resting {orders[oid][2]}")
        elif action == T:
            touch = ask if side == 0 else bid  # a buyer ('B') trades at the best ask
            if px != touch:
                errors.append(f"{i}: trade at {px}, touch {touch}")
        if flags & F_LAST:
            checked += 1
            bid = max(depth[0]) if depth[0] else None
            ask = min(depth[1]) if depth[1] else None
            if bid is None or ask is None:
                errors.append(f"{i}: one-sided book")
            elif bid >= ask:
                errors.append(f"{i}: crossed book {bid} >= {ask}")
    return errors, checked


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a = synth.generate_day(tmp_path / "a.dbn.zst", start_et="08:00", end_et="08:01", seed=3)
    b = synth.generate_day(tmp_path / "b.dbn.zst", start_et="08:00", end_et="08:01", seed=3)
    c = synth.generate_day(tmp_path / "c.dbn.zst", start_et="08:00", end_et="08:01", seed=4)
    assert a.records == b.records
    assert a.path.read_bytes() == b.path.read_bytes()
    assert a.path.read_bytes() != c.path.read_bytes()


def test_book_rules_hold_at_every_record_and_f_last() -> None:
    rec = _sim("08:00", "08:03").records
    errors, checked = _reference_book_errors(rec)
    assert errors == []
    assert checked > 20_000


def test_book_rules_hold_through_the_open_in_the_null_run() -> None:
    rec = _sim("09:29", "09:31", seed=11, planted=False).records
    errors, checked = _reference_book_errors(rec)
    assert errors == []
    assert checked > 20_000


def test_snapshot_and_event_structure() -> None:
    result = _sim("08:00", "08:03")
    rec = result.records
    start = et_to_ns("2026-02-06", "08:00")
    assert result.start_ns == start
    # R first: SNAPSHOT|BAD_TS_RECV, side N, undefined price.
    r0 = rec[0]
    assert (r0["action"], r0["side"], r0["flags"]) == (R, ord("N"), 40)
    assert r0["price"] == UNDEF_PRICE
    snap = (rec["flags"] & F_SNAPSHOT) != 0
    n_snap = int(snap.sum())
    assert snap[:n_snap].all() and not snap[n_snap:].any()
    assert (rec["action"][1:n_snap] == A).all()
    assert (rec["ts_recv"][:n_snap] == start).all()
    assert (rec["ts_event"][1:n_snap] < start).all()
    assert rec["flags"][n_snap - 1] == 40 | F_LAST
    assert (rec["flags"][1 : n_snap - 1] == 40).all()
    # Hundreds of levels a side, tens of thousands of orders, a few far stubs.
    snap_rec = rec[1:n_snap]
    bids = snap_rec[snap_rec["side"] == ord("B")]["price"]
    asks = snap_rec[snap_rec["side"] == ord("A")]["price"]
    assert len(np.unique(bids)) >= 500 and len(np.unique(asks)) >= 500
    assert 10_000 <= n_snap <= 60_000
    far = np.abs(snap_rec["price"] - 21_500 * 10**9) > 10_000 * TICK
    assert int(far.sum()) == synth.SynthParams().n_stubs
    # Live data: ts_event strictly, ts_recv and sequence never decreasing; ts_recv after ts_event.
    live = rec[n_snap:]
    assert (np.diff(live["ts_event"].astype(np.int64)) >= 0).all()
    assert (np.diff(live["ts_recv"].astype(np.int64)) >= 0).all()
    assert (np.diff(live["sequence"].astype(np.int64)) >= 0).all()
    assert (live["ts_recv"] > live["ts_event"]).all()
    assert live["ts_event"][-1] < et_to_ns("2026-02-06", "08:03")
    # Every T is followed by F records only, then the C/M that ends in F_LAST.
    t_idx = np.flatnonzero(live["action"] == T)
    for i in t_idx[:200]:
        j = i + 1
        while live["action"][j] == F:
            assert live["flags"][j] == 0
            j += 1
        n_fill = j - i - 1
        assert n_fill >= 1
        tail = live[j : j + n_fill]
        assert set(tail["action"].tolist()) <= {C, M}
        assert tail["flags"][-1] & F_LAST and not (tail["flags"][:-1] & F_LAST).any()
        assert live["size"][i] == live["size"][i + 1 : j].sum()


def test_dbn_round_trip_through_databento(tmp_path: Path) -> None:
    path = tmp_path / "glbx-mdp3-20260206.mbo.dbn.zst"
    summary = synth.generate_day(path, start_et="08:00", end_et="08:01", seed=5)
    expected = synth.simulate(start_et="08:00", end_et="08:01", seed=5).records
    store = db.DBNStore.from_file(path)
    assert store.metadata.dataset == "GLBX.MDP3"
    assert str(store.metadata.schema) == "mbo"
    assert store.metadata.symbols == ["MNQH6"]
    mapping = store.metadata.mappings["MNQH6"]
    assert [(m["start_date"].isoformat(), m["symbol"]) for m in mapping] == [
        ("2026-02-06", str(synth.INSTRUMENT_ID))
    ]
    got = store.to_ndarray()
    assert len(got) == len(expected) == summary.records
    for name in MBO_RECORD_DTYPE.names or ():
        want = expected[name]
        have = got[name]
        if name in ("action", "side"):
            have = have.view(np.uint8)
        assert np.array_equal(have.astype(np.int64), want.astype(np.int64)), name
    assert set(np.unique(got["publisher_id"]).tolist()) == {synth.PUBLISHER_GLBX}


def test_statistics_in_realistic_ranges() -> None:
    rec = _sim("08:00", "08:03").records
    live = rec[(rec["flags"] & F_SNAPSHOT) == 0]
    share = {ch: float(np.mean(live["action"] == ord(ch))) for ch in "ACMFT"}
    # The real CME file (ESH4): A 0.34, C 0.30, M 0.20, F 0.11, T 0.05.
    assert 0.25 <= share["A"] <= 0.40
    assert 0.25 <= share["C"] <= 0.40
    assert 0.12 <= share["M"] <= 0.25
    assert 0.07 <= share["F"] <= 0.15
    assert 0.03 <= share["T"] <= 0.08
    fills_per_trade = share["F"] / share["T"]
    # Real: 2.14; MNQ touch queues here are thinner (about 9 contracts), which caps more market
    # orders at the touch.
    assert 1.3 <= fills_per_trade <= 3.0
    adds = live[live["action"] == A]["size"]
    # Real: 0.75; the planted stacking before a jump adds orders 5x the usual size.
    assert 0.60 <= float(np.mean(adds == 1)) <= 0.85
    rate = len(live) / 180.0
    assert 100 <= rate <= 600  # records/s before the open


def test_open_is_much_busier() -> None:
    before = _sim("09:20", "09:22").records
    after = _sim("09:30", "09:32").records
    n_before = int(np.sum((before["flags"] & F_SNAPSHOT) == 0))
    n_after = int(np.sum((after["flags"] & F_SNAPSHOT) == 0))
    assert n_after > 2.5 * n_before
    # 1-4 million records in the busiest hour means about 280-1,100 records/s on average; the
    # first minutes of the open run above that average.
    assert n_after / 120.0 > 700


def _precursor_flows(result: synth.SynthResult) -> tuple[float, float, float, float]:
    """Per move: (approached-side cancels/s and trailing-side added contracts/s in the precursor,
    the same in the 8 s before it, share of jumps whose mid moves >= 8 ticks within 100 ms).

    Cancels are plain cancels (not the C after a fill) within 12 ticks of the jump's start mid
    on the side the jump sweeps; adds are on the other side within 12 ticks.
    """
    rec = result.records
    live = rec[(rec["flags"] & F_SNAPSHOT) == 0]
    fill_seq = set((live["sequence"][live["action"] == F] + 1).tolist())
    is_cancel = (live["action"] == C) & ~np.isin(live["sequence"], list(fill_seq))
    ts = live["ts_event"].astype(np.int64) - result.start_ns
    px = live["price"].astype(np.int64)
    pre_c = base_c = pre_a = base_a = 0.0
    for mv in result.moves:
        t0, t1 = int(mv[sk.MV_T0]), int(mv[sk.MV_T1])
        direction, mid2 = int(mv[sk.MV_DIR]), int(mv[sk.MV_MID0])
        mid_price = 21_500 * 10**9 + mid2 * TICK // 2
        lo, a, b = np.searchsorted(ts, [t0 - 8 * 10**9, t0, t1])
        near = np.abs(px - mid_price) <= 12 * TICK
        swept = ord("A") if direction > 0 else ord("B")
        cancels = is_cancel & near & (live["side"] == swept)
        adds = np.where((live["action"] == A) & near & (live["side"] != swept), live["size"], 0)
        span = (t1 - t0) / 1e9
        pre_c += cancels[a:b].sum() / span
        base_c += cancels[lo:a].sum() / 8.0
        pre_a += adds[a:b].sum() / span
        base_a += adds[lo:a].sum() / 8.0
    n = max(len(result.moves), 1)
    # The jump: the mid 100 ms after the jump start, from the book the records build.
    jumped = 0
    for mv in result.moves:
        t1, direction, mid2 = int(mv[sk.MV_T1]), int(mv[sk.MV_DIR]), int(mv[sk.MV_MID0])
        i = np.searchsorted(ts, t1 + 100_000_000)
        trades = live[:i][live["action"][:i] == T]
        last = (int(trades["price"][-1]) - 21_500 * 10**9) / TICK if len(trades) else 0.0
        if (last - mid2 / 2.0) * direction >= 7.5:
            jumped += 1
    return pre_c / n, base_c / n, pre_a / n, jumped / n


def test_planted_precursor_and_null_control() -> None:
    planted = _sim("09:30", "09:40", seed=7, planted=True)
    null = _sim("09:30", "09:40", seed=7, planted=False)
    assert len(planted.moves) >= 10 and len(null.moves) >= 10
    pre_c, base_c, pre_a, jumped = _precursor_flows(planted)
    assert pre_c > 1.4 * base_c  # liquidity withdrawn ahead of the jump
    assert jumped >= 0.9  # the last trade of the sweep is 8+ ticks away within 100 ms
    pre_c0, base_c0, pre_a0, jumped0 = _precursor_flows(null)
    assert pre_c0 < 1.2 * base_c0
    assert pre_a > 3.0 * pre_a0  # stacking behind the jump only with the planted effect
    assert jumped0 >= 0.9  # the same jumps happen without the precursor


FOLDER_REL = "raw/source=databento/product_type=future_mbo/symbol=MNQ/table=market_by_order_dbn"
NAME = "glbx-mdp3-20260206.mbo.dbn.zst"
MINUTE = ["--start-et", "08:00", "--end-et", "08:01"]


def _real_day(folder: Path, name: str, seed: int = 11) -> Path:
    """A genuine DBN file without a synthetic marker: what the replay must treat as real data."""
    folder.mkdir(parents=True, exist_ok=True)
    return synth.generate_day(folder / name, start_et="08:00", end_et="08:01", seed=seed).path


def _decompress(path: Path) -> Path:
    """What the seed's `zstd -d --rm` does: the .dbn replaces the .dbn.zst."""
    plain = path.with_suffix("")
    with path.open("rb") as src, plain.open("wb") as dst:
        zstandard.ZstdDecompressor().copy_stream(src, dst)
    path.unlink()
    return plain


def test_ensure_synthetic_day_writes_once(lake: Path) -> None:
    config = load_config()
    path = synth.ensure_synthetic_day(config, "2026-02-06", lake, start_et="08:00", end_et="08:01")
    assert path.name == NAME
    assert path.parent.as_posix().endswith(FOLDER_REL)
    marker = path.with_name("glbx-mdp3-20260206.mbo.dbn.synthetic.json")
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, marker.name])
    info = json.loads(marker.read_text())
    assert info["synthetic"] is True
    assert (info["symbol"], info["seed"], info["start_et"], info["planted_effect"]) == (
        "MNQH6",
        synth.DEFAULT_SEED,
        "08:00",
        True,
    )
    assert info["files"][NAME] == path.stat().st_size
    assert info["params"]["start_price"] == 21500.0
    stat = path.stat()
    again = synth.ensure_synthetic_day(config, "2026-02-06", lake, start_et="08:00", end_et="08:02")
    assert again == path and path.stat().st_mtime_ns == stat.st_mtime_ns
    assert path.stat().st_size == stat.st_size


def test_the_marker_survives_decompression_and_never_claims_a_real_file(lake: Path) -> None:
    path = synth.ensure_synthetic_day(load_config(), "2026-02-06", lake, end_et="08:01")
    assert is_synthetic(path)
    plain = _decompress(path)
    assert is_synthetic(plain)  # the marker records the decompressed size too
    # A real file put in its place (the marker left behind) is not claimed by the stale marker.
    plain.unlink()
    real = _real_day(path.parent, NAME)
    assert marker_path(real).exists() and not is_synthetic(real)
    marker_path(real).write_text("{not json")
    assert not is_synthetic(real)


@pytest.mark.parametrize("form", ["dbn", "dbn.zst"])
def test_vp_synth_skips_a_day_the_lake_already_has(
    lake: Path, form: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # After the seed's download and `zstd -d --rm`, the day is a real .dbn: vp synth must not add
    # a second raw file for it (the replay would refuse "several raw files").
    real = _real_day(lake / FOLDER_REL, f"glbx-mdp3-20260206.mbo.{form}")
    before = real.read_bytes()
    assert synth.main(MINUTE) == 0
    out = capsys.readouterr().out
    assert out == (
        f"skipped: {real.parent} already holds {real.name} for 2026-02-06 (real data); "
        "vp synth only fills a missing day (--force replaces a synthetic one)\n"
    )
    assert [p.name for p in real.parent.iterdir()] == [real.name]
    assert real.read_bytes() == before
    # --force never replaces real data.
    assert synth.main([*MINUTE, "--force"]) == 2
    assert f"error: {real} is real data" in capsys.readouterr().out
    assert [p.name for p in real.parent.iterdir()] == [real.name]
    assert real.read_bytes() == before


def test_vp_synth_force_replaces_a_synthetic_day_in_either_form(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert synth.main([*MINUTE, "--seed", "3"]) == 0
    folder = lake / FOLDER_REL
    plain = _decompress(folder / NAME)
    assert synth.main(MINUTE) == 0
    assert "(synthetic)" in capsys.readouterr().out
    assert synth.main([*MINUTE, "--force"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted([NAME, marker_path(plain).name])
    assert not plain.exists() and is_synthetic(folder / NAME)
    assert json.loads(marker_path(plain).read_text())["seed"] == synth.DEFAULT_SEED


def test_vp_synth_out_refuses_an_existing_file_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.dbn.zst"
    assert synth.main(["--out", str(out), *MINUTE, "--seed", "3"]) == 0
    first = out.read_bytes()
    capsys.readouterr()
    assert synth.main(["--out", str(out), *MINUTE]) == 2
    assert capsys.readouterr().out == (
        f"error: --out {out} exists; pass --force to replace it "
        "(only a file written by vp synth is replaced)\n"
    )
    assert out.read_bytes() == first
    assert synth.main(["--out", str(out), *MINUTE, "--force"]) == 0
    assert out.read_bytes() != first and is_synthetic(out)
    other = tmp_path / "mine.dbn.zst"
    other.write_bytes(b"someone else's file")
    assert synth.main(["--out", str(other), *MINUTE, "--force"]) == 2
    assert other.read_bytes() == b"someone else's file"


@pytest.mark.parametrize("symbol", ["ESH4", "NQH6", "MNQ", "XMNQH6"])
def test_vp_synth_refuses_symbols_it_does_not_model(
    lake: Path, symbol: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert synth.main(["--symbol", symbol, *MINUTE]) == 2
    assert capsys.readouterr().out == (
        f"error: symbol {symbol!r} is not modelled by the synthetic market, which is MNQ only "
        "(price about 21,500, tick 0.25): expected an MNQ contract, MNQ + month code "
        "(FGHJKMNQUVXZ) + 1-2 year digits, e.g. MNQH6\n"
    )
    assert list(lake.iterdir()) == []
    with pytest.raises(VPError, match="MNQ only"):
        synth.generate_day(lake / "x.dbn.zst", symbol=symbol, end_et="08:01")


def test_vp_synth_accepts_other_mnq_contracts(lake: Path) -> None:
    assert synth.main(["--symbol", "MNQZ26", "--dt", "2026-11-02", *MINUTE]) == 0
    path = lake / FOLDER_REL / "glbx-mdp3-20261102.mbo.dbn.zst"
    assert db.DBNStore.from_file(path).metadata.symbols == ["MNQZ26"]


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize("to_lake", [True, False])
def test_an_interrupted_write_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop: type[BaseException], to_lake: bool
) -> None:
    real_write = synth.write_dbn

    def write_then_stop(path: Path, metadata: bytes, records: np.ndarray) -> None:
        real_write(path, metadata, records[:1000])
        assert path.exists() and path.name.startswith(".synth-")
        raise stop()

    monkeypatch.setattr(synth, "write_dbn", write_then_stop)
    args = ["--lake-root", str(tmp_path)] if to_lake else ["--out", str(tmp_path / "x.dbn.zst")]
    if stop is KeyboardInterrupt:  # Ctrl-C or SIGTERM: main reports it and exits 130
        assert synth.main([*args, *MINUTE]) == 130
    else:
        with pytest.raises(stop):
            synth.main([*args, *MINUTE])
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_real_file_placed_during_generation_is_never_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The download daemon may place the real day while vp synth is still generating it.
    out = tmp_path / "glbx-mdp3-20260206.mbo.dbn.zst"
    real_write = synth.write_dbn

    def write_while_the_real_file_arrives(path: Path, metadata: bytes, records: np.ndarray) -> None:
        real_write(path, metadata, records[:1000])
        out.write_bytes(b"the real day")

    monkeypatch.setattr(synth, "write_dbn", write_while_the_real_file_arrives)
    with pytest.raises(VPError, match="appeared while the synthetic day was being written"):
        synth.write_synthetic_file(out, dt="2026-02-06", start_et="09:00", end_et="09:01")
    assert out.read_bytes() == b"the real day"
    assert not is_synthetic(out) and not marker_path(out).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_cli_main_writes_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.dbn.zst"
    code = synth.main(["--out", str(out), "--start-et", "08:00", "--end-et", "08:01"])
    assert code == 0 and out.exists()
    report = capsys.readouterr().out
    assert f"wrote {out}\n" in report and "records" in report
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.dbn.synthetic.json", "x.dbn.zst"]
    assert synth.main(["--out", str(out), "--start-et", "09:00", "--end-et", "08:00"]) == 2
