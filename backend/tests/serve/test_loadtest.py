"""The load script's pure parts (the script itself is a benchmark and is not run here)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from serve_support import Server

from vacuum_pressure.serve.loadtest import (
    LATENCY_FIELDS,
    ClientResult,
    LoadReport,
    LoadTestError,
    build_parser,
    format_report,
    latency_stats,
    peak_rss_mb,
    run,
    run_clients,
)


def test_latency_stats_percentiles_and_session_filter(tmp_path: Path) -> None:
    path = tmp_path / "lat.jsonl"
    with open(path, "w") as fh:
        for i in range(101):  # values 0..100 in session 1, one outlier in session 2
            fh.write(json.dumps({"session": 1, **dict.fromkeys(LATENCY_FIELDS, float(i))}) + "\n")
        fh.write(json.dumps({"session": 2, **dict.fromkeys(LATENCY_FIELDS, 1e6)}) + "\n")
    stats, n = latency_stats(path, sessions={1})
    assert n == 101
    assert stats["last_ingest_to_queue_put_done_us"] == (50.0, 99.0, 100.0)
    stats, n = latency_stats(path)
    assert n == 102
    assert stats["queue_block_us"][2] == 1e6
    # A reused --url file: only what was appended after the first 100 records counts.
    head = sum(len(line) for line in path.read_bytes().splitlines(keepends=True)[:100])
    stats, n = latency_stats(path, skip_bytes=head)
    assert n == 2
    assert stats["queue_block_us"] == (500_050.0, 990_001.0, 1e6)


def test_peak_rss_of_this_process_and_of_a_missing_one() -> None:
    rss = peak_rss_mb(os.getpid())
    assert rss is not None and rss > 1.0
    assert peak_rss_mb(2**22 + 12345) is None  # above pid_max


def test_client_rate_and_report_text() -> None:
    c = ClientResult(0, bins=11, connected_s=0.0, first_bin_s=1.0, last_bin_s=2.0)
    c.header_bytes, c.arrow_bytes = [300] * 11, [22720] * 11
    assert c.bins_per_s == 10.0
    report = LoadReport([c], 0.0, 100, "09:30", 11, 10.0, {}, 0, 512.0, 2.5)
    assert report.real_time_multiple == 1.0
    text = format_report(report)
    assert "client 0: 11 bins, 10.0 bins/s, startup 1.0 s" in text
    assert "header 300 B + Arrow 22720 B (min 22720, max 22720) = 23020 B" in text
    assert "peak server RSS (VmHWM): 512 MB" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--url", "ws://example.com:8002"], "expected one of"),
        (["--clients", "17"], "--clients 17"),
        (["--bins", "0"], "0 bins per client"),
    ],
)
def test_bounds_and_loopback_only(argv: list[str], message: str) -> None:
    with pytest.raises(LoadTestError, match=message):
        run(build_parser().parse_args(argv))


def test_a_client_stops_at_the_end_of_the_data(server: Server) -> None:
    # From 09:07 the test day has about 600 bins: asking for 5,000 must not wait for a timeout.
    results, _ = asyncio.run(run_clients(server.url(start_time="09:07"), 2, 5_000, 60.0))
    for result in results:
        assert not result.error
        assert 500 < result.bins < 700
