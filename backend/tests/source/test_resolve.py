"""Lake file resolution: layout, candidate choice, and every error message."""

from __future__ import annotations

from pathlib import Path

import pytest

from vacuum_pressure.errors import DataFileNotFoundError, SourceError, VPError
from vacuum_pressure.lake import raw_mbo_dir
from vacuum_pressure.source.resolve import future_root, resolve_raw_file, symbol_dir


def _touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


@pytest.mark.parametrize(
    ("symbol", "root"),
    [("MNQH6", "MNQ"), ("ESH4", "ES"), ("ESZ24", "ES"), ("6EM5", "6E"), ("MESU25", "MES")],
)
def test_future_root_strips_month_code_and_year(symbol: str, root: str) -> None:
    assert future_root(symbol) == root


def test_future_root_rejects_a_symbol_without_month_code() -> None:
    with pytest.raises(SourceError, match=r"symbol 'ARL' is not a futures contract.*symbol_root"):
        future_root("ARL")


def test_symbol_dir_uses_config_root_for_futures_and_symbol_for_equities() -> None:
    assert symbol_dir("future_mbo", "MNQH6", "MNQ") == "MNQ"
    assert symbol_dir("future_mbo", "MNQH6", None) == "MNQ"
    assert symbol_dir("future_mbo", "MNQH6", "NQX") == "NQX"
    assert symbol_dir("equity_mbo", "ARL", "IGNORED") == "ARL"


def test_resolves_the_futures_file_in_the_root_folder(lake: Path) -> None:
    folder = raw_mbo_dir(lake, "future_mbo", "MNQ")
    _touch(folder, "glbx-mdp3-20260205.mbo.dbn.zst", "glbx-mdp3-20260206.mbo.dbn.zst")
    got = resolve_raw_file(lake, "future_mbo", "MNQH6", "2026-02-06", symbol_root="MNQ")
    assert got == folder / "glbx-mdp3-20260206.mbo.dbn.zst"
    # root=None means the lake root from VP_LAKE_ROOT (the fixture sets it).
    assert resolve_raw_file(None, "future_mbo", "MNQH6", "2026-02-06") == got


def test_uncompressed_copy_is_preferred(lake: Path) -> None:
    folder = raw_mbo_dir(lake, "future_mbo", "MNQ")
    _touch(folder, "glbx-mdp3-20260206.mbo.dbn.zst", "glbx-mdp3-20260206.mbo.dbn")
    got = resolve_raw_file(lake, "future_mbo", "MNQH6", "2026-02-06")
    assert got == folder / "glbx-mdp3-20260206.mbo.dbn"


def test_other_suffixes_and_dates_are_ignored(lake: Path) -> None:
    folder = raw_mbo_dir(lake, "equity_mbo", "ARL")
    _touch(
        folder,
        "xnas-itch-20250717.ARL.mbo.dbn.zst",
        "xnas-itch-20250717.ARL.mbo.csv",
        "xnas-itch-20250717.ARL.mbo.dbn.zst.part",
        "xnas-itch-20250718.ARL.mbo.dbn.zst",
        # Files still being written (synth, the download daemon) have hidden names.
        ".synth-4242-xnas-itch-20250717.ARL.mbo.dbn.zst",
        ".xnas-itch-20250717.ARL.mbo.dbn.zst.GLBX-1.part",
    )
    got = resolve_raw_file(lake, "equity_mbo", "ARL", "2025-07-17")
    assert got == folder / "xnas-itch-20250717.ARL.mbo.dbn.zst"


def test_missing_folder_names_it_and_how_to_get_data(lake: Path) -> None:
    folder = raw_mbo_dir(lake, "future_mbo", "MNQ")
    with pytest.raises(DataFileNotFoundError) as err:
        resolve_raw_file(lake, "future_mbo", "MNQH6", "2026-02-06")
    msg = str(err.value)
    assert f"the folder {folder} does not exist" in msg
    assert "batch_download_futures.py daemon --start 2026-02-06 --end 2026-02-06" in msg
    assert "--symbols MNQ" in msg
    assert "`vp synth`" in msg
    assert isinstance(err.value, FileNotFoundError)


def test_missing_date_lists_the_folder(lake: Path) -> None:
    folder = raw_mbo_dir(lake, "future_mbo", "MNQ")
    _touch(folder, "glbx-mdp3-20260205.mbo.dbn.zst", "notes.txt")
    with pytest.raises(DataFileNotFoundError) as err:
        resolve_raw_file(lake, "future_mbo", "MNQH6", "2026-02-06")
    msg = str(err.value)
    assert f"expected a file in {folder} whose name contains 20260206" in msg
    assert "glbx-mdp3-20260206.mbo.dbn.zst" in msg
    assert "the folder holds: glbx-mdp3-20260205.mbo.dbn.zst, notes.txt." in msg
    assert "`vp synth`" in msg


def test_missing_date_in_an_empty_folder(lake: Path) -> None:
    raw_mbo_dir(lake, "equity_mbo", "ARL").mkdir(parents=True)
    with pytest.raises(DataFileNotFoundError, match="the folder is empty"):
        resolve_raw_file(lake, "equity_mbo", "ARL", "2025-07-17")


def test_several_candidates_are_named(lake: Path) -> None:
    folder = raw_mbo_dir(lake, "future_mbo", "MNQ")
    _touch(folder, "glbx-mdp3-20260206.mbo.dbn.zst", "glbx-mdp3-20260206.v2.mbo.dbn")
    with pytest.raises(SourceError) as err:
        resolve_raw_file(lake, "future_mbo", "MNQH6", "2026-02-06")
    assert (
        "several raw files in " + str(folder) + " match future_mbo:MNQH6 on 2026-02-06: "
        "glbx-mdp3-20260206.mbo.dbn.zst, glbx-mdp3-20260206.v2.mbo.dbn;"
    ) in str(err.value)


@pytest.mark.parametrize(
    ("symbol", "dt", "pattern"),
    [
        ("../etc", "2026-02-06", r"symbol '\.\./etc' is invalid: expected 1-12 upper-case"),
        ("mnqh6", "2026-02-06", r"symbol 'mnqh6' is invalid"),
        ("", "2026-02-06", r"symbol '' is invalid"),
        ("ABCDEFGHIJKLM", "2026-02-06", r"symbol 'ABCDEFGHIJKLM' is invalid"),
        ("MNQH6", "2026/02/06", r"date '2026/02/06' is invalid: expected YYYY-MM-DD"),
        ("MNQH6", "2026-02-30", r"date '2026-02-30' is not a calendar date"),
        ("MNQH6", "../../x", r"date '\.\./\.\./x' is invalid"),
    ],
)
def test_bad_inputs_never_reach_a_path(lake: Path, symbol: str, dt: str, pattern: str) -> None:
    with pytest.raises(VPError, match=pattern):
        resolve_raw_file(lake, "future_mbo", symbol, dt, symbol_root="MNQ")


def test_bad_symbol_root_and_product_type(lake: Path) -> None:
    with pytest.raises(SourceError, match=r"symbol_root 'mnq/' is invalid"):
        resolve_raw_file(lake, "future_mbo", "MNQH6", "2026-02-06", symbol_root="mnq/")
    with pytest.raises(SourceError, match=r"product_type 'option_mbo' is invalid: expected one of"):
        resolve_raw_file(lake, "option_mbo", "MNQH6", "2026-02-06")
