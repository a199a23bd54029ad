"""The core benchmark script (issue: what it prints) on a small synthetic day."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vacuum_pressure.benchmark import main
from vacuum_pressure.lake import raw_file_name, raw_mbo_dir
from vacuum_pressure.source.synthetic import generate_day

DT = "2026-02-06"


def _figures(text: str, section: str) -> dict[str, str]:
    """``name -> value`` of the indented lines under ``[section]``."""
    block = text.split(f"[{section}]\n", 1)[1]
    out = {}
    for line in block.splitlines():
        if not line.startswith("  "):
            break
        out[line[2:21].strip()] = line[21:].strip()  # a 19-character name column
    return out


def test_benchmark_prints_every_figure_for_each_path_and_the_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = raw_mbo_dir(tmp_path, "future_mbo", "MNQ")
    generate_day(
        folder / raw_file_name("future_mbo", "20260206"), dt=DT, start_et="08:50", end_et="09:03"
    )
    argv = ["--product-type", "future_mbo", "--symbol", "MNQH6", "--dt", DT]
    argv += ["--start-time", "09:00", "--end-time", "09:01", "--read-grid", "--serve"]
    assert main([*argv, "--lake-root", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    for head in ("instrument", "date / start", "rows per grid", "cell width"):
        assert re.search(rf"^{re.escape(head)}\s", text, re.M), head
    assert "rows per grid      8,192 (core), 101 (serve)" in text
    names = [
        "bins", "events processed", "last event id", "replay span", "wall time", "bins/s",
        "events/s", "real-time multiple",
    ]  # fmt: skip
    runs = {
        section: _figures(text, section)
        for section in ("core path", "core path, every bin's full grid read", "serve path")
    }
    for section, figures in runs.items():
        assert list(figures)[: len(names)] == names, section
        # --end-time 09:01 cuts the records at 09:01: bins 09:00:00.0 .. 09:00:59.9.
        assert figures["bins"] == "600", section
        assert figures["replay span"] == "60.0 s of market time", section
    core, read = runs["core path"], runs["core path, every bin's full grid read"]
    assert core["events processed"] == read["events processed"]
    assert core["last event id"] == read["last event id"] == runs["serve path"]["last event id"]
    baseline = _figures(text, "baseline: plain-Python dict order book, book only")
    assert baseline["events processed"] == core["events processed"]  # the same records
    assert re.search(r"^core path / dict book events/s ratio: \d+\.\d\dx$", text, re.M)
    assert re.search(r"^peak RSS\s+[\d,]+ MiB$", text, re.M)
