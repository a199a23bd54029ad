"""The download daemon against a fake Databento ``Historical`` client (no network, no sleeping)."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import errno
import functools
import hashlib
import inspect
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import zstandard
from databento.common.error import BentoClientError, BentoServerError
from databento.historical.api.batch import BatchHttpAPI
from databento.historical.api.metadata import MetadataHttpAPI

from vacuum_pressure.download import cli
from vacuum_pressure.download.client import BatchAPI, MetadataAPI, is_transient
from vacuum_pressure.download.daemon import (
    Downloader,
    RetryPolicy,
    StopSignal,
    estimate,
    state_path,
)
from vacuum_pressure.download.jobs import (
    ArgumentError,
    JobSpec,
    parse_schemas,
    parse_symbols,
    plan_jobs,
    trading_days,
)
from vacuum_pressure.download.state import COMPLETE, FAILED, PRESENT, READY, SUBMITTED
from vacuum_pressure.source import synth_marker
from vacuum_pressure.source import synthetic as synth

BACKEND = Path(__file__).resolve().parents[2]
KEY = "db-SECRETKEY0123456789"
DAY = dt.date(2026, 2, 6)  # a Friday
FUT_REL = Path(
    "raw/source=databento/product_type=future_mbo/symbol=MNQ/table=market_by_order_dbn/"
    "glbx-mdp3-20260206.mbo.dbn.zst"
)
# The download in progress of the first job: hidden, beside its target.
STAGED_FUT = FUT_REL.with_name(".glbx-mdp3-20260206.mbo.dbn.zst.GLBX-0001.part")
OPT_MBO_REL = Path(
    "raw/source=databento/product_type=future_option_mbo/symbol=MNQ/table=market_by_order_dbn/"
    "glbx-mdp3-20260206.mbo.dbn.zst"
)
OPT_STATS_REL = Path(
    "raw/source=databento/product_type=future_option_statistics/symbol=MNQ/table=statistics/"
    "glbx-mdp3-20260206.statistics.dbn.zst"
)


# -- the fake client ---------------------------------------------------------------------------


@dataclass
class FakeJob:
    """A job on the fake server: its request, the states it goes through and its file."""

    job_id: str
    request: dict[str, Any]
    states: list[str]
    content: bytes
    filename: str
    corrupt_downloads: int = 0


def _content_for(request: dict[str, Any]) -> bytes:
    tag = f"{request['symbols'][0]}|{request['schema']}|{request['start']}".encode()
    return b"\x28\xb5\x2f\xfd" + tag * 50


@dataclass
class FakeServer:
    """State that outlives one client, as Databento's does across daemon restarts."""

    progression: list[str] = field(default_factory=lambda: ["queued", "processing", "done"])
    jobs: dict[str, FakeJob] = field(default_factory=dict)
    submit_calls: list[dict[str, Any]] = field(default_factory=list)
    list_jobs_calls: list[dict[str, Any]] = field(default_factory=list)
    download_calls: list[tuple[str, str]] = field(default_factory=list)
    # Range and Authorization headers of each file request.
    download_headers: list[tuple[str | None, str | None]] = field(default_factory=list)
    cost_calls: list[dict[str, Any]] = field(default_factory=list)
    # Errors raised by submit_job, consumed in order, per (parent symbol, schema).
    submit_errors: dict[tuple[str, str], list[Exception]] = field(default_factory=dict)
    # The same, but raised after the job was created: the answer is lost on the way back.
    lost_submit_answers: dict[tuple[str, str], list[Exception]] = field(default_factory=dict)
    corrupt_downloads: dict[tuple[str, str], int] = field(default_factory=dict)
    on_list_jobs: Callable[[], None] | None = None
    files_listing: Callable[[FakeJob], list[dict[str, Any]]] | None = None


class FakeBatch:
    """Implements :class:`BatchAPI` with the real method and parameter names."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server

    def submit_job(
        self,
        dataset: str,
        symbols: list[str],
        schema: str,
        start: str,
        end: str | None = None,
        encoding: str = "dbn",
        compression: str = "zstd",
        pretty_px: bool = False,
        pretty_ts: bool = False,
        map_symbols: bool | None = None,
        split_symbols: bool = False,
        split_duration: str = "day",
        split_size: int | None = None,
        delivery: str = "download",
        stype_in: str = "raw_symbol",
        stype_out: str = "instrument_id",
        limit: int | None = None,
    ) -> dict[str, Any]:
        request = {
            "dataset": dataset,
            "symbols": symbols,
            "schema": schema,
            "start": start,
            "end": end,
            "encoding": encoding,
            "compression": compression,
            "split_duration": split_duration,
            "stype_in": stype_in,
            "delivery": delivery,
        }
        self.server.submit_calls.append(request)
        errors = self.server.submit_errors.get((symbols[0], schema))
        if errors:
            raise errors.pop(0)
        job_id = f"GLBX-{len(self.server.jobs) + 1:04d}"
        day = start.replace("-", "")
        self.server.jobs[job_id] = FakeJob(
            job_id=job_id,
            request=request,
            states=list(self.server.progression),
            content=_content_for(request),
            filename=f"glbx-mdp3-{day}.{schema}.dbn.zst",
            corrupt_downloads=self.server.corrupt_downloads.get((symbols[0], schema), 0),
        )
        lost = self.server.lost_submit_answers.get((symbols[0], schema))
        if lost:
            raise lost.pop(0)
        return {"id": job_id, "state": "received", "cost_usd": 1.5}

    def list_jobs(
        self, states: Iterable[str] | str | None = None, since: str | None = None
    ) -> list[dict[str, Any]]:
        self.server.list_jobs_calls.append({"states": states, "since": since})
        if self.server.on_list_jobs is not None:
            self.server.on_list_jobs()
        answer = []
        for job in self.server.jobs.values():
            state = job.states.pop(0) if len(job.states) > 1 else job.states[0]
            answer.append({"id": job.job_id, "state": state, "ts_received": "2026-02-07"})
        return answer

    def get_job_details(self, job_id: str) -> dict[str, Any]:
        job = self.server.jobs[job_id]
        request = job.request
        # Databento's format: symbols joined by commas, times as UTC nanosecond timestamps.
        return {
            **request,
            "id": job_id,
            "state": job.states[0],
            "cost_usd": 1.5,
            "symbols": ",".join(request["symbols"]),
            "start": f"{request['start']}T00:00:00.000000000Z",
            "end": f"{request['end']}T00:00:00.000000000Z",
            "stype_out": "instrument_id",
        }

    def list_files(self, job_id: str) -> list[dict[str, Any]]:
        job = self.server.jobs[job_id]
        if self.server.files_listing is not None:
            return self.server.files_listing(job)
        return [
            {"filename": "metadata.json", "size": 2, "hash": "sha256:00", "urls": {}},
            {
                "filename": job.filename,
                "size": len(job.content),
                "hash": "sha256:" + hashlib.sha256(job.content).hexdigest(),
                "urls": {"https": _file_host().url_for(self.server, job)},
            },
        ]


class _FileHost(ThreadingHTTPServer):
    """A loopback HTTP server for the fake jobs' files, as Databento's file links are served.

    Honours ``Range: bytes=N-`` (206) like the real one, and sends a corrupt copy while the job
    has ``corrupt_downloads`` left.
    """

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _FileRequest)
        self.files: dict[str, tuple[FakeServer, FakeJob]] = {}
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url_for(self, server: FakeServer, job: FakeJob) -> str:
        path = f"/{id(server)}/{job.job_id}/{job.filename}"
        self.files[path] = (server, job)
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _FileRequest(BaseHTTPRequestHandler):
    server: _FileHost

    def do_GET(self) -> None:
        fake, job = self.server.files[self.path]
        fake.download_calls.append((job.job_id, job.filename))
        fake.download_headers.append((self.headers["Range"], self.headers["Authorization"]))
        content = job.content
        if job.corrupt_downloads > 0:
            job.corrupt_downloads -= 1
            content = content[:-1] + b"X"
        start = (
            int(self.headers["Range"].removeprefix("bytes=").rstrip("-") or 0)
            if self.headers["Range"]
            else 0
        )
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(content) - start))
        self.end_headers()
        self.wfile.write(content[start:])

    def log_message(self, format: str, *args: Any) -> None:
        pass


@functools.cache
def _file_host() -> _FileHost:
    return _FileHost()


class FakeMetadata:
    """Implements :class:`MetadataAPI`."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server

    def get_cost(
        self,
        dataset: str,
        start: str,
        end: str | None = None,
        *,
        symbols: list[str] | None = None,
        schema: str = "trades",
        stype_in: str = "raw_symbol",
    ) -> float:
        self.server.cost_calls.append(
            {"dataset": dataset, "start": start, "end": end, "symbols": symbols, "schema": schema}
        )
        return 12.5 if schema == "mbo" else 0.75


class FakeHistorical:
    """Implements :class:`HistoricalClient`."""

    def __init__(self, server: FakeServer, key: str = KEY) -> None:
        self.key = key
        self.batch = FakeBatch(server)
        self.metadata = FakeMetadata(server)


class ManualWaiter:
    """Records every wait (s) instead of sleeping; a test can request a stop."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.stop = False

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return self.stop

    def stop_requested(self) -> bool:
        return self.stop


class StopWhileWaiting(ManualWaiter):
    """A stop request arrives during the first wait."""

    def wait(self, seconds: float) -> bool:
        super().wait(seconds)
        self.stop = True
        return True


@dataclass
class Harness:
    server: FakeServer
    waiter: ManualWaiter
    lake: Path
    keys_seen: list[str] = field(default_factory=list)

    def factory(self, key: str) -> FakeHistorical:
        self.keys_seen.append(key)
        return FakeHistorical(self.server, key)

    def run(self, *args: str, environ: dict[str, str] | None = None) -> int:
        return cli.run_cli(
            ["daemon", "--lake-root", str(self.lake), *args],
            environ={"DATABENTO_API_KEY": KEY} if environ is None else environ,
            env_files=[],
            client_factory=self.factory,
            waiter=self.waiter,
        )

    def state(self) -> dict[str, dict[str, Any]]:
        payload = json.loads(state_path(self.lake).read_text())
        return {job["key"]: job for job in payload["jobs"]}


@pytest.fixture
def harness(lake: Path) -> Harness:
    return Harness(FakeServer(), ManualWaiter(), lake)


MNQ_DAY = ["--start", "2026-02-06", "--end", "2026-02-06", "--symbols", "MNQ"]


# -- planning and arguments --------------------------------------------------------------------


def test_submission_parameters_for_futures_and_options(harness: Harness) -> None:
    code = harness.run(*MNQ_DAY, "--include-futures", "--options-schemas", "mbo,statistics")
    assert code == 0
    common = {
        "dataset": "GLBX.MDP3",
        "start": "2026-02-06",
        "end": "2026-02-07",
        "encoding": "dbn",
        "compression": "zstd",
        "split_duration": "day",
        "stype_in": "parent",
        "delivery": "download",
    }
    assert harness.server.submit_calls == [
        {**common, "symbols": ["MNQ.FUT"], "schema": "mbo"},
        {**common, "symbols": ["MNQ.OPT"], "schema": "mbo"},
        {**common, "symbols": ["MNQ.OPT"], "schema": "statistics"},
    ]
    # One list_jobs per pass, asking for every filterable state.
    states = harness.server.list_jobs_calls[0]["states"]
    assert states == ["queued", "processing", "done", "expired"]


def test_plan_skips_saturday_and_orders_jobs() -> None:
    days = trading_days(dt.date(2026, 2, 6), dt.date(2026, 2, 9))
    assert days == [dt.date(2026, 2, 6), dt.date(2026, 2, 8), dt.date(2026, 2, 9)]
    specs = plan_jobs(days[:2], ["MNQ", "ES"], include_futures=True, options_schemas=["mbo"])
    assert [s.key for s in specs] == [
        "20260206/MNQ/futures/mbo",
        "20260206/MNQ/options/mbo",
        "20260206/ES/futures/mbo",
        "20260206/ES/options/mbo",
        "20260208/MNQ/futures/mbo",
        "20260208/MNQ/options/mbo",
        "20260208/ES/futures/mbo",
        "20260208/ES/options/mbo",
    ]


def test_lake_layout_of_targets() -> None:
    assert JobSpec(DAY, "MNQ", "futures", "mbo").target_relpath() == FUT_REL
    assert JobSpec(DAY, "MNQ", "options", "mbo").target_relpath() == OPT_MBO_REL
    assert JobSpec(DAY, "MNQ", "options", "statistics").target_relpath() == OPT_STATS_REL


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--start", "2026-02-30", "--symbols", "MNQ", "--include-futures"],
            "error: --start must be a date YYYY-MM-DD, got '2026-02-30'\n",
        ),
        (
            ["--start", "2026-02-06", "--end", "2026-02-05", "--symbols", "MNQ",
             "--include-futures"],
            "error: --end 2026-02-05 is before --start 2026-02-06\n",
        ),
        (
            ["--start", "2026-02-06", "--symbols", "MNQ,M$Q", "--include-futures"],
            "error: --symbols entry 'M$Q' is not a root symbol: expected 1-8 letters or digits "
            "such as MNQ or ES\n",
        ),
        (
            ["--start", "2026-02-06", "--symbols", "MNQ", "--options-schemas", "mbo,book"],
            "error: --options-schemas entry 'book' is not a known schema; accepted: mbo, mbp-1, "
            "mbp-10, tbbo, trades, bbo-1s, bbo-1m, ohlcv-1s, ohlcv-1m, ohlcv-1h, ohlcv-1d, "
            "definition, statistics, status\n",
        ),
        (
            ["--start", "2026-02-06", "--symbols", "MNQ", "--include-futures",
             "--poll-interval", "0"],
            "error: --poll-interval must be > 0 seconds, got '0'\n",
        ),
        (
            ["--start", "2026-02-06", "--symbols", "MNQ"],
            "error: nothing to download: pass --include-futures and/or --options-schemas "
            "mbo,statistics\n",
        ),
    ],
)  # fmt: skip
def test_invalid_arguments_are_refused_with_clear_errors(
    harness: Harness, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert harness.run(*args) == 2
    assert capsys.readouterr().err == message
    assert harness.server.submit_calls == []


def test_parsers_normalise_case_and_duplicates() -> None:
    assert parse_symbols(" mnq,ES,MNQ ") == ["MNQ", "ES"]
    assert parse_schemas("MBO, statistics,mbo") == ["mbo", "statistics"]
    with pytest.raises(ArgumentError, match="'TOOLONGSYM'"):
        parse_symbols("TOOLONGSYM")


# -- the loop ----------------------------------------------------------------------------------


def test_polling_walks_through_every_job_state(lake: Path) -> None:
    server = FakeServer(progression=["queued", "queued", "processing", "done"])
    waiter = ManualWaiter()
    downloader = Downloader(FakeHistorical(server), lake, waiter=waiter)
    downloader.plan([JobSpec(DAY, "MNQ", "futures", "mbo")])
    key = "20260206/MNQ/futures/mbo"
    seen = []
    for _ in range(5):
        downloader.run_pass()
        record = downloader.records[key]
        seen.append((record.state, record.remote_state))
    assert seen == [
        (SUBMITTED, "queued"),
        (SUBMITTED, "queued"),
        (SUBMITTED, "processing"),
        (COMPLETE, "done"),
        (COMPLETE, "done"),
    ]
    assert len(server.submit_calls) == 1
    assert len(server.list_jobs_calls) == 4  # no poll once nothing is waiting
    assert waiter.waits == []


def test_daemon_sleeps_poll_interval_between_passes(harness: Harness) -> None:
    assert harness.run(*MNQ_DAY, "--include-futures", "--poll-interval", "45") == 0
    # queued, processing, done: two pauses between the three passes.
    assert harness.waiter.waits == [45.0, 45.0]


def test_download_lands_verified_files_in_the_lake_layout(harness: Harness) -> None:
    code = harness.run(*MNQ_DAY, "--include-futures", "--options-schemas", "mbo,statistics")
    assert code == 0
    jobs = harness.server.jobs
    expected = {
        FUT_REL: jobs["GLBX-0001"].content,
        OPT_MBO_REL: jobs["GLBX-0002"].content,
        OPT_STATS_REL: jobs["GLBX-0003"].content,
    }
    for rel, content in expected.items():
        path = harness.lake / rel
        assert path.read_bytes() == content
        assert not os.access(path, os.W_OK) or os.geteuid() == 0
        assert path.stat().st_mode & 0o777 == 0o444
    state = harness.state()
    fut = state["20260206/MNQ/futures/mbo"]
    assert fut["state"] == COMPLETE
    assert fut["job_id"] == "GLBX-0001"
    assert fut["sha256"] == hashlib.sha256(jobs["GLBX-0001"].content).hexdigest()
    assert fut["size_bytes"] == len(jobs["GLBX-0001"].content)
    assert fut["target"] == FUT_REL.as_posix()
    basic = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    assert {auth for _, auth in harness.server.download_headers} == {basic}
    # Nothing left behind in staging, and only the data file (not metadata.json) downloaded.
    for rel in expected:
        assert sorted(p.name for p in (harness.lake / rel).parent.iterdir()) == [rel.name]
    assert [name for _, name in harness.server.download_calls] == [
        "glbx-mdp3-20260206.mbo.dbn.zst",
        "glbx-mdp3-20260206.mbo.dbn.zst",
        "glbx-mdp3-20260206.statistics.dbn.zst",
    ]


def test_restart_neither_resubmits_nor_redownloads(harness: Harness) -> None:
    # First run is cut after one pass: the job is submitted but not finished.
    assert harness.run(*MNQ_DAY, "--include-futures", "--once") == 0
    assert harness.state()["20260206/MNQ/futures/mbo"]["state"] == SUBMITTED
    assert len(harness.server.submit_calls) == 1
    # Restart (new client, same server): the same job is polled and fetched, not submitted again.
    assert harness.run(*MNQ_DAY, "--include-futures") == 0
    assert len(harness.server.submit_calls) == 1
    assert len(harness.server.download_calls) == 1
    placed = (harness.lake / FUT_REL).read_bytes()
    # Third run: everything is complete; no API call at all.
    n_list = len(harness.server.list_jobs_calls)
    assert harness.run(*MNQ_DAY, "--include-futures") == 0
    assert len(harness.server.submit_calls) == 1
    assert len(harness.server.download_calls) == 1
    assert len(harness.server.list_jobs_calls) == n_list
    assert (harness.lake / FUT_REL).read_bytes() == placed


def _delete_from_lake(path: Path) -> None:
    path.chmod(0o644)
    path.unlink()


def test_a_deleted_file_is_downloaded_again_from_its_job(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    assert harness.run(*MNQ_DAY, "--include-futures") == 0
    placed = (harness.lake / FUT_REL).read_bytes()
    _delete_from_lake(harness.lake / FUT_REL)  # the user removes a bad file to fetch it again
    caplog.set_level(logging.WARNING)
    assert harness.run(*MNQ_DAY, "--include-futures") == 0
    assert (harness.lake / FUT_REL).read_bytes() == placed
    assert len(harness.server.submit_calls) == 1  # the finished job serves it again
    assert len(harness.server.download_calls) == 2
    record = harness.state()["20260206/MNQ/futures/mbo"]
    assert (record["state"], record["job_id"], record["download_attempts"]) == (
        COMPLETE,
        "GLBX-0001",
        0,
    )
    assert record["sha256"] == hashlib.sha256(placed).hexdigest()
    assert (
        f"20260206/MNQ/futures/mbo: {FUT_REL.as_posix()} is no longer in the lake; "
        "downloading it again from job GLBX-0001"
    ) in caplog.messages


def test_a_deleted_file_that_was_present_is_submitted(harness: Harness) -> None:
    existing = harness.lake / FUT_REL
    existing.parent.mkdir(parents=True)
    existing.write_bytes(b"user's own copy")
    assert harness.run(*MNQ_DAY, "--include-futures") == 0
    assert harness.state()["20260206/MNQ/futures/mbo"]["state"] == PRESENT
    existing.unlink()
    assert harness.run(*MNQ_DAY, "--include-futures") == 0
    assert len(harness.server.submit_calls) == 1
    assert existing.read_bytes() == harness.server.jobs["GLBX-0001"].content
    assert harness.state()["20260206/MNQ/futures/mbo"]["state"] == COMPLETE


def test_files_already_in_the_lake_are_never_requested_or_touched(harness: Harness) -> None:
    existing = harness.lake / FUT_REL
    existing.parent.mkdir(parents=True)
    existing.write_bytes(b"user's own copy")
    assert harness.run(*MNQ_DAY, "--include-futures", "--options-schemas", "statistics") == 0
    assert [c["symbols"] for c in harness.server.submit_calls] == [["MNQ.OPT"]]
    assert existing.read_bytes() == b"user's own copy"
    assert harness.state()["20260206/MNQ/futures/mbo"]["state"] == PRESENT


def test_a_failed_job_does_not_stop_the_others(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    refusal = BentoClientError(422, message="symbology_invalid_request: MNQ.OPT unknown")
    harness.server.submit_errors[("MNQ.OPT", "statistics")] = [refusal]
    code = harness.run(*MNQ_DAY, "--include-futures", "--options-schemas", "mbo,statistics")
    assert code == 1
    state = harness.state()
    assert state["20260206/MNQ/futures/mbo"]["state"] == COMPLETE
    assert state["20260206/MNQ/options/mbo"]["state"] == COMPLETE
    failed = state["20260206/MNQ/options/statistics"]
    assert failed["state"] == FAILED
    assert failed["error"] == (
        "submit 20260206/MNQ/options/statistics: 422 symbology_invalid_request: MNQ.OPT unknown"
    )
    assert not (harness.lake / OPT_STATS_REL).exists()
    out = capsys.readouterr().out
    assert "FAILED 20260206/MNQ/options/statistics: submit 20260206/MNQ/options/statistics" in out
    # A later run leaves the failure alone unless asked to retry it.
    assert harness.run(*MNQ_DAY, "--include-futures", "--options-schemas", "mbo,statistics") == 1
    assert len(harness.server.submit_calls) == 3
    assert harness.run(*MNQ_DAY, "--options-schemas", "statistics", "--retry-failed") == 0
    assert len(harness.server.submit_calls) == 4
    assert (harness.lake / OPT_STATS_REL).exists()


def test_transient_errors_are_retried_with_backoff(harness: Harness) -> None:
    busy = [BentoServerError(503, message="busy"), BentoClientError(429, message="slow down")]
    harness.server.submit_errors[("MNQ.FUT", "mbo")] = busy
    assert harness.run(*MNQ_DAY, "--include-futures", "--poll-interval", "60") == 0
    assert len(harness.server.submit_calls) == 3
    # Backoff 2 s then 4 s before the submission goes through, then two poll pauses.
    assert harness.waiter.waits == [2.0, 4.0, 60.0, 60.0]
    assert (harness.lake / FUT_REL).exists()


def test_transient_errors_exhausted_leave_the_job_for_the_next_pass(lake: Path) -> None:
    server = FakeServer()
    server.submit_errors[("MNQ.FUT", "mbo")] = [BentoServerError(502, message="bad gateway")] * 3
    waiter = ManualWaiter()
    policy = RetryPolicy(max_attempts=3, base_delay_s=1.0)
    downloader = Downloader(FakeHistorical(server), lake, waiter=waiter, policy=policy)
    downloader.plan([JobSpec(DAY, "MNQ", "futures", "mbo")])
    downloader.run_pass()
    record = downloader.records["20260206/MNQ/futures/mbo"]
    assert (record.state, record.job_id) == ("pending", None)
    assert record.error == (
        "submit 20260206/MNQ/futures/mbo: still failing after 3 attempts: 502 bad gateway"
    )
    assert waiter.waits == [1.0, 2.0]
    downloader.run_pass()
    assert record.state == SUBMITTED


def test_a_submit_whose_answer_is_lost_adopts_the_job_it_created(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    # Someone's job for another day with the same symbols and schema must not be taken.
    other = FakeBatch(harness.server).submit_job(
        **JobSpec(DAY + dt.timedelta(days=2), "MNQ", "futures", "mbo").submit_kwargs()
    )
    harness.server.lost_submit_answers[("MNQ.FUT", "mbo")] = [
        requests.ReadTimeout("read timed out")
    ]
    caplog.set_level(logging.WARNING)
    assert harness.run(*MNQ_DAY, "--include-futures") == 0
    assert len(harness.server.submit_calls) == 2  # the other job's, and ours once
    assert list(harness.server.jobs) == [other["id"], "GLBX-0002"]
    record = harness.state()["20260206/MNQ/futures/mbo"]
    assert (record["state"], record["job_id"], record["submit_sent_at"]) == (
        COMPLETE,
        "GLBX-0002",
        None,
    )
    assert (harness.lake / FUT_REL).read_bytes() == harness.server.jobs["GLBX-0002"].content
    assert (
        "20260206/MNQ/futures/mbo: adopting job GLBX-0002, which an earlier unanswered submit "
        "created"
    ) in caplog.messages


def test_restart_after_an_unanswered_submit_adopts_the_job(lake: Path) -> None:
    server = FakeServer()
    server.lost_submit_answers[("MNQ.OPT", "mbo")] = [BentoServerError(502, message="bad gateway")]
    specs = [JobSpec(DAY, "MNQ", "futures", "mbo"), JobSpec(DAY, "MNQ", "options", "mbo")]
    first = Downloader(FakeHistorical(server), lake, waiter=StopWhileWaiting())
    first.plan(specs)
    assert first.run_pass()  # stopped while waiting to retry the unanswered submit
    assert [c["symbols"] for c in server.submit_calls] == [["MNQ.FUT"], ["MNQ.OPT"]]
    restarted = Downloader(FakeHistorical(server), lake, waiter=ManualWaiter())
    restarted.plan(specs)
    assert restarted.records["20260206/MNQ/options/mbo"].submit_sent_at is not None
    restarted.run(60.0)
    # GLBX-0001 (the futures job) is owned by its record; GLBX-0002 is the lost one, adopted.
    assert len(server.submit_calls) == 2
    options = restarted.records["20260206/MNQ/options/mbo"]
    assert (options.state, options.job_id) == (COMPLETE, "GLBX-0002")
    assert (lake / OPT_MBO_REL).read_bytes() == server.jobs["GLBX-0002"].content


def test_corrupt_download_is_deleted_and_fetched_again(lake: Path) -> None:
    server = FakeServer(corrupt_downloads={("MNQ.FUT", "mbo"): 1})
    downloader = Downloader(FakeHistorical(server), lake, waiter=ManualWaiter())
    downloader.plan([JobSpec(DAY, "MNQ", "futures", "mbo")])
    for _ in range(3):
        downloader.run_pass()
    record = downloader.records["20260206/MNQ/futures/mbo"]
    assert record.state == READY
    assert record.download_attempts == 1
    assert record.error is not None
    assert record.error.startswith("corrupt download: glbx-mdp3-20260206.mbo.dbn.zst: sha256 ")
    assert not (lake / FUT_REL).exists()
    assert not (lake / STAGED_FUT).exists()
    downloader.run_pass()
    assert record.state == COMPLETE
    assert (lake / FUT_REL).read_bytes() == server.jobs["GLBX-0001"].content


def test_download_that_never_verifies_fails_the_job(harness: Harness) -> None:
    harness.server.corrupt_downloads[("MNQ.FUT", "mbo")] = 99
    assert harness.run(*MNQ_DAY, "--include-futures", "--options-schemas", "statistics") == 1
    state = harness.state()
    failed = state["20260206/MNQ/futures/mbo"]
    assert failed["state"] == FAILED
    assert failed["download_attempts"] == 3
    assert failed["error"].endswith("; gave up after 3 downloads")
    assert not (harness.lake / FUT_REL).exists()
    assert state["20260206/MNQ/options/statistics"]["state"] == COMPLETE


def test_size_mismatch_is_detected_without_a_hash(lake: Path) -> None:
    server = FakeServer(progression=["done"])

    def listing(job: FakeJob) -> list[dict[str, Any]]:
        url = _file_host().url_for(server, job)
        size = len(job.content) + 1
        return [{"filename": job.filename, "size": size, "hash": "md5:abc", "urls": {"https": url}}]

    server.files_listing = listing
    downloader = Downloader(FakeHistorical(server), lake, waiter=ManualWaiter())
    downloader.plan([JobSpec(DAY, "MNQ", "futures", "mbo")])
    downloader.run_pass()
    record = downloader.records["20260206/MNQ/futures/mbo"]
    size = len(server.jobs["GLBX-0001"].content)
    assert record.error == (
        f"corrupt download: glbx-mdp3-20260206.mbo.dbn.zst: size {size} bytes, "
        f"listing says {size + 1}"
    )
    assert not (lake / FUT_REL).exists()


def test_partial_download_is_resumed_not_placed(lake: Path) -> None:
    server = FakeServer(progression=["queued", "done"])
    downloader = Downloader(FakeHistorical(server), lake, waiter=ManualWaiter())
    downloader.plan([JobSpec(DAY, "MNQ", "futures", "mbo")])
    downloader.run_pass()  # submitted, queued
    content = _content_for(server.jobs["GLBX-0001"].request)
    # A previous process died half-way through the download: the half file sits in staging.
    staged = lake / STAGED_FUT
    staged.parent.mkdir(parents=True)
    staged.write_bytes(content[: len(content) // 2])
    assert not (lake / FUT_REL).exists()
    downloader.run_pass()
    assert (lake / FUT_REL).read_bytes() == content
    assert not staged.exists()
    assert [r for r, _ in server.download_headers] == [f"bytes={len(content) // 2}-"]


def test_a_file_that_appears_while_the_job_runs_is_left_alone(lake: Path) -> None:
    server = FakeServer(progression=["queued", "done"])
    downloader = Downloader(FakeHistorical(server), lake, waiter=ManualWaiter())
    downloader.plan([JobSpec(DAY, "MNQ", "futures", "mbo")])
    downloader.run_pass()  # submitted, queued
    (lake / STAGED_FUT).parent.mkdir(parents=True)
    (lake / STAGED_FUT).write_bytes(b"half a download")
    (lake / FUT_REL).write_bytes(b"user's own copy")
    downloader.run_pass()
    assert downloader.records["20260206/MNQ/futures/mbo"].state == PRESENT
    assert (lake / FUT_REL).read_bytes() == b"user's own copy"
    assert not (lake / STAGED_FUT).exists()
    assert server.download_calls == []


def test_the_file_is_staged_beside_its_target_synced_then_renamed(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """lake/raw may sit on another filesystem: only a rename within one folder is safe."""
    events: list[tuple[str, ...]] = []
    real_replace, real_fsync = os.replace, os.fsync

    def replace(src: str | Path, dst: str | Path) -> None:
        if Path(src).parent != Path(dst).parent:
            raise OSError(errno.EXDEV, "Invalid cross-device link", str(src), None, str(dst))
        events.append(("rename", Path(src).name, Path(dst).name))
        real_replace(src, dst)

    def fsync(fd: int) -> None:
        events.append(("fsync", Path(os.readlink(f"/proc/self/fd/{fd}")).name))
        real_fsync(fd)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "fsync", fsync)
    assert harness.run(*MNQ_DAY, "--include-futures") == 0
    assert (harness.lake / FUT_REL).read_bytes() == harness.server.jobs["GLBX-0001"].content
    assert [e for e in events if "jobs" not in e[1]] == [
        ("fsync", STAGED_FUT.name),
        ("rename", STAGED_FUT.name, FUT_REL.name),
        ("fsync", FUT_REL.parent.name),
    ]
    assert harness.state()["20260206/MNQ/futures/mbo"]["state"] == COMPLETE


def test_a_lake_folder_that_cannot_be_written_ends_the_run_clearly(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = (harness.lake / FUT_REL).parent  # a file where the table folder belongs
    blocker.parent.mkdir(parents=True)
    blocker.write_bytes(b"")
    assert harness.run(*MNQ_DAY, "--include-futures") == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "error: 20260206/MNQ/futures/mbo: cannot write into the lake: "
        f"[Errno 17] File exists: '{blocker}'"
    )
    assert harness.state()["20260206/MNQ/futures/mbo"]["state"] == READY
    assert blocker.read_bytes() == b""


def test_job_without_a_data_file_fails_with_the_listing(lake: Path) -> None:
    server = FakeServer(progression=["done"])
    server.files_listing = lambda job: [{"filename": "manifest.json", "size": 2, "hash": ""}]
    downloader = Downloader(FakeHistorical(server), lake, waiter=ManualWaiter())
    downloader.plan([JobSpec(DAY, "MNQ", "futures", "mbo")])
    downloader.run_pass()
    record = downloader.records["20260206/MNQ/futures/mbo"]
    assert record.state == FAILED
    assert record.error == (
        "job GLBX-0001 has 0 .dbn.zst data files, expected 1 (files: manifest.json)"
    )


def test_expired_job_is_reported(lake: Path) -> None:
    server = FakeServer(progression=["expired"])
    downloader = Downloader(FakeHistorical(server), lake, waiter=ManualWaiter())
    downloader.plan([JobSpec(DAY, "MNQ", "futures", "mbo")])
    summary = downloader.run(60.0)
    assert summary.failed == [
        (
            "20260206/MNQ/futures/mbo",
            "job GLBX-0001 expired before its file was downloaded; "
            "rerun with --retry-failed to submit it again",
        )
    ]


def test_sigterm_finishes_the_step_saves_state_and_exits_zero(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = FakeServer()
    server.on_list_jobs = lambda: os.kill(os.getpid(), signal.SIGTERM)
    before = signal.getsignal(signal.SIGTERM)
    code = cli.run_cli(
        ["daemon", "--lake-root", str(lake), *MNQ_DAY, "--include-futures"],
        environ={"DATABENTO_API_KEY": KEY},
        env_files=[],
        client_factory=lambda key: FakeHistorical(server),
        waiter=StopSignal(),
        install_signals=True,
    )
    assert code == 0
    assert signal.getsignal(signal.SIGTERM) is before
    assert "jobs: 1 submitted; stopped on request" in capsys.readouterr().out
    record = json.loads(state_path(lake).read_text())["jobs"][0]
    assert (record["state"], record["job_id"], record["remote_state"]) == (
        SUBMITTED,
        "GLBX-0001",
        "queued",
    )


@contextlib.contextmanager
def _slow_file(
    gap_s: float | None, on_first_bytes: Callable[[], object] = lambda: None
) -> Iterator[str]:
    """URL of a loopback server that promises 64 MiB, sends 10 bytes (then calls
    ``on_first_bytes``: the download is under way), then a 64 KiB chunk every ``gap_s`` seconds,
    or with None nothing more: a stalled connection."""
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(64 << 20))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client hung up
                self.wfile.write(b"\x28\xb5\x2f\xfd" + b"x" * 6)
                self.wfile.flush()
                on_first_bytes()
                while not release.wait(gap_s or 30.0) and gap_s:
                    self.wfile.write(b"x" * 65536)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/file"
    finally:
        release.set()
        httpd.shutdown()
        httpd.server_close()


def _listing_of(url: str) -> Callable[[FakeJob], list[dict[str, Any]]]:
    return lambda job: [
        {"filename": job.filename, "size": 64 << 20, "hash": "sha256:00", "urls": {"https": url}}
    ]


def test_a_stalled_download_times_out_and_waits_for_the_next_pass(lake: Path) -> None:
    server = FakeServer(progression=["done"])
    waiter = ManualWaiter()
    policy = RetryPolicy(max_attempts=2, read_timeout_s=0.2)
    with _slow_file(gap_s=None) as url:
        server.files_listing = _listing_of(url)
        downloader = Downloader(FakeHistorical(server), lake, waiter=waiter, policy=policy)
        downloader.plan([JobSpec(DAY, "MNQ", "futures", "mbo")])
        assert not downloader.run_pass()
    record = downloader.records["20260206/MNQ/futures/mbo"]
    assert record.state == READY
    assert record.error is not None
    assert record.error.startswith(
        "download glbx-mdp3-20260206.mbo.dbn.zst of GLBX-0001: still failing after 2 attempts: "
    )
    assert "Read timed out" in record.error
    assert waiter.waits == [2.0]
    assert not (lake / FUT_REL).exists()


def test_a_stop_request_ends_a_download_at_the_next_chunk(lake: Path) -> None:
    server = FakeServer(progression=["done"])
    waiter = StopSignal()
    policy = RetryPolicy(read_timeout_s=60.0)  # the stop, not a timeout, must end it
    with _slow_file(gap_s=0.02, on_first_bytes=waiter.request_stop) as url:
        server.files_listing = _listing_of(url)
        downloader = Downloader(FakeHistorical(server), lake, waiter=waiter, policy=policy)
        downloader.plan([JobSpec(DAY, "MNQ", "futures", "mbo")])
        assert downloader.run_pass()
    assert downloader.records["20260206/MNQ/futures/mbo"].state == READY
    # Stopped part-way, the part kept to resume (the whole 64 MiB takes 20 s; this fake's
    # hash never matches, so the final name stays absent either way: the part is the check).
    assert (lake / STAGED_FUT).stat().st_size < 64 << 20


def test_sigterm_ends_a_download_at_the_next_chunk(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = FakeServer(progression=["done"])
    # The signal is sent once the download is under way, so the daemon's handler is installed
    # (a SIGTERM before that would end the test process).
    sigterm = functools.partial(os.kill, os.getpid(), signal.SIGTERM)
    # A trickle, not a stall, and no read timeout to speak of: only the stop can end it early.
    with _slow_file(gap_s=0.02, on_first_bytes=sigterm) as url:
        server.files_listing = _listing_of(url)
        code = cli.run_cli(
            ["daemon", "--lake-root", str(lake), *MNQ_DAY, "--include-futures"],
            environ={"DATABENTO_API_KEY": KEY},
            env_files=[],
            client_factory=lambda key: FakeHistorical(server, key),
            waiter=StopSignal(),
            policy=RetryPolicy(read_timeout_s=60.0),
            install_signals=True,
        )
    assert code == 0
    assert "jobs: 1 ready; stopped on request" in capsys.readouterr().out
    assert (lake / STAGED_FUT).stat().st_size < 64 << 20  # ended mid-file, kept to resume


# -- key handling ------------------------------------------------------------------------------


def test_missing_key_gives_one_line_telling_how_to_set_it(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    assert harness.run(*MNQ_DAY, "--include-futures", environ={}) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: DATABENTO_API_KEY is not set: run `export DATABENTO_API_KEY=db-...` or add the "
        "line `DATABENTO_API_KEY=db-...` to backend/.env\n"
    )
    assert harness.keys_seen == []
    assert harness.server.submit_calls == []


def test_key_is_read_from_a_dotenv_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text('# Databento\nexport DATABENTO_API_KEY="db-FROMFILE"\nOTHER=1\n')
    assert cli.load_api_key({}, [tmp_path / "absent.env", env_file]) == "db-FROMFILE"
    assert cli.load_api_key({"DATABENTO_API_KEY": "db-ENV"}, [env_file]) == "db-ENV"


def test_key_never_reaches_logs_or_state(
    harness: Harness, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log_file = tmp_path / "logs" / "futures.log"

    def chatty_factory(key: str) -> FakeHistorical:
        # A library that logs its credentials must still not leak them into our log file.
        logging.getLogger("databento").warning("auth header for %s", key)
        return harness.factory(key)

    caplog.set_level(logging.INFO)
    code = cli.run_cli(
        ["daemon", "--lake-root", str(harness.lake), *MNQ_DAY, "--include-futures",
         "--options-schemas", "statistics", "--log-file", str(log_file)],
        environ={"DATABENTO_API_KEY": KEY},
        env_files=[],
        client_factory=chatty_factory,
        waiter=harness.waiter,
    )  # fmt: skip
    assert code == 0
    assert harness.keys_seen == [KEY]
    log_text = log_file.read_text()
    assert "placed raw/source=databento/product_type=future_mbo" in log_text
    assert "auth header for <redacted>" in log_text
    assert KEY not in log_text
    assert KEY not in state_path(harness.lake).read_text()
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("vacuum_pressure")]
    assert ours
    assert not any(KEY in message for message in ours)


# -- dry run, status, help ---------------------------------------------------------------------


def test_dry_run_lists_requests_and_cost_without_submitting(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    code = harness.run(
        "--start", "2026-02-06", "--end", "2026-02-07", "--symbols", "MNQ",
        "--include-futures", "--options-schemas", "statistics", "--dry-run",
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"dry run: 2 job(s), lake {harness.lake}"  # Saturday 7th skipped
    assert "20260206/MNQ/futures/mbo" in out[1]
    assert "$12.50" in out[1]
    assert FUT_REL.as_posix() in out[1]
    assert "$0.75" in out[2]
    assert out[3] == "total estimated cost: $13.25"
    assert harness.server.submit_calls == []
    assert [c["symbols"] for c in harness.server.cost_calls] == [["MNQ.FUT"], ["MNQ.OPT"]]
    assert not state_path(harness.lake).exists()


def test_dry_run_without_key_still_lists_requests(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    assert harness.run(*MNQ_DAY, "--include-futures", "--dry-run", environ={}) == 0
    out = capsys.readouterr().out.splitlines()
    assert "n/a" in out[1]
    assert "(no DATABENTO_API_KEY: cost unknown)" in out[1]
    assert out[2] == "total estimated cost: $0.00 (+1 unknown)"
    assert harness.keys_seen == []


def test_status_shows_each_job(harness: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    assert harness.run(*MNQ_DAY, "--include-futures", "--options-schemas", "mbo", "--once") == 0
    capsys.readouterr()
    assert cli.run_cli(["status", "--lake-root", str(harness.lake)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["job", "state", "remote", "job", "id", "target", "/", "error"]
    assert lines[1].split() == [
        "20260206/MNQ/futures/mbo", "submitted", "queued", "GLBX-0001", FUT_REL.as_posix()
    ]  # fmt: skip
    assert lines[2].split()[:4] == ["20260206/MNQ/options/mbo", "submitted", "queued", "GLBX-0002"]
    assert cli.run_cli(["status", "--lake-root", str(harness.lake), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["job_id"] for r in records] == ["GLBX-0001", "GLBX-0002"]


def test_status_of_an_empty_lake(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run_cli(["status", "--lake-root", str(lake)]) == 0
    assert capsys.readouterr().out == f"no jobs recorded in {state_path(lake)}\n"


_GOOD_ENTRY = {
    "key": "20260206/MNQ/futures/mbo",
    "day": "2026-02-06",
    "root": "MNQ",
    "kind": "futures",
    "schema": "mbo",
    "target": FUT_REL.as_posix(),
}


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ([], 'it holds an array, expected an object {"version": 1, "jobs": [...]}'),
        ({"version": 1, "jobs": {}}, '"jobs" is an object, expected an array'),
        ({"version": 1, "jobs": ["x"]}, "jobs[0] is a string, expected an object"),
        (
            {"version": 1, "jobs": [{k: v for k, v in _GOOD_ENTRY.items() if k != "target"}]},
            "jobs[0] lacks target (required: key, day, root, kind, schema, target)",
        ),
        (
            {"version": 1, "jobs": [_GOOD_ENTRY, {**_GOOD_ENTRY, "download_attempts": "2"}]},
            "jobs[1] download_attempts is '2', expected an integer",
        ),
        (
            {"version": 1, "jobs": [{**_GOOD_ENTRY, "job_id": 7}]},
            "jobs[0] job_id is 7, expected a string or null",
        ),
        (
            {"version": 1, "jobs": [{**_GOOD_ENTRY, "state": "done"}]},
            "jobs[0] state is 'done', expected one of pending, submitted, ready, complete, "
            "present, failed",
        ),
        (
            {"version": 1, "jobs": [{**_GOOD_ENTRY, "kind": "stocks"}]},
            "jobs[0] kind is 'stocks', expected 'futures' or 'options'",
        ),
        (
            {"version": 1, "jobs": [{**_GOOD_ENTRY, "day": "06/02/2026"}]},
            "jobs[0] day is '06/02/2026', expected YYYY-MM-DD",
        ),
        (
            {"version": 1, "jobs": [{**_GOOD_ENTRY, "submit_sent_at": "yesterday"}]},
            "jobs[0] submit_sent_at is 'yesterday', expected an ISO 8601 time",
        ),
    ],
)
def test_malformed_state_file_is_refused_naming_the_file_and_the_problem(
    harness: Harness, capsys: pytest.CaptureFixture[str], payload: Any, problem: str
) -> None:
    path = state_path(harness.lake)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(payload))
    before = path.read_bytes()
    expected = f"error: state file {path}: {problem}; fix it or move it aside to start over\n"
    assert cli.run_cli(["status", "--lake-root", str(harness.lake)]) == 1
    assert capsys.readouterr().err == expected
    assert harness.run(*MNQ_DAY, "--include-futures") == 1
    assert capsys.readouterr().err == expected
    assert path.read_bytes() == before
    assert harness.server.submit_calls == []


def test_lake_root_that_is_a_file_is_refused(
    harness: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "afile"
    a_file.write_bytes(b"not a lake")
    harness.lake = a_file
    assert cli.run_cli(["status", "--lake-root", str(a_file)]) == 2
    assert capsys.readouterr().err == (
        f"error: --lake-root {a_file} is a file; "
        "expected a folder (the lake, holding raw/ and download_state/)\n"
    )
    harness.lake = a_file / "lake"
    assert harness.run(*MNQ_DAY, "--include-futures") == 2
    assert capsys.readouterr().err == (
        f"error: --lake-root {a_file / 'lake'} is inside {a_file}, which is a file; "
        "expected a folder (the lake, holding raw/ and download_state/)\n"
    )
    assert a_file.read_bytes() == b"not a lake"
    assert harness.keys_seen == []


def test_help_of_the_script() -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    result = subprocess.run(
        [sys.executable, str(BACKEND / "scripts" / "batch_download_futures.py"), "daemon", "-h"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    for flag in ("--start", "--end", "--symbols", "--include-futures", "--options-schemas",
                 "--poll-interval", "--log-file", "--dry-run"):  # fmt: skip
        assert flag in result.stdout


# -- the boundary ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "real", "method"),
    [
        (BatchAPI, BatchHttpAPI, "submit_job"),
        (BatchAPI, BatchHttpAPI, "list_jobs"),
        (BatchAPI, BatchHttpAPI, "get_job_details"),
        (BatchAPI, BatchHttpAPI, "list_files"),
        (MetadataAPI, MetadataHttpAPI, "get_cost"),
    ],
)
def test_protocol_parameter_names_exist_on_the_real_client(
    protocol: type, real: type, method: str
) -> None:
    ours = set(inspect.signature(getattr(protocol, method)).parameters) - {"self"}
    theirs = set(inspect.signature(getattr(real, method)).parameters) - {"self"}
    assert ours <= theirs


def test_error_classification() -> None:
    assert is_transient(BentoServerError(500, message="x"))
    assert is_transient(BentoClientError(429, message="x"))
    assert not is_transient(BentoClientError(401, message="bad key"))
    assert not is_transient(BentoClientError(422, message="bad symbol"))
    assert is_transient(ConnectionError("reset"))
    for status, transient in ((404, False), (403, False), (429, True), (503, True)):
        response = requests.Response()
        response.status_code = status
        assert is_transient(requests.HTTPError(response=response)) is transient


def test_a_decompressed_copy_counts_as_present(harness: Harness) -> None:
    # After the optional `zstd -d --rm`, only the .dbn is left: it must not be fetched again.
    plain = harness.lake / FUT_REL.with_suffix("")
    plain.parent.mkdir(parents=True)
    plain.write_bytes(b"decompressed")
    assert harness.run(*MNQ_DAY, "--include-futures") == 0
    assert harness.server.submit_calls == []
    assert not (harness.lake / FUT_REL).exists()
    assert harness.state()["20260206/MNQ/futures/mbo"]["state"] == PRESENT


class _JsonResponse:
    def __init__(self, payload: Any) -> None:
        self.payload = payload

    def json(self) -> Any:
        return self.payload


def test_real_client_accepts_our_requests(lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real ``databento.Historical`` validates and encodes our calls; only HTTP is stubbed."""
    import databento

    client = databento.Historical("db-TESTKEYTESTKEYTESTKEYTESTKE")
    sent: list[tuple[str, Any]] = []

    def fake_post(url: str, data: Any = None, params: Any = None, basic_auth: bool = False) -> Any:
        sent.append((url.rsplit("/", 1)[-1], dict(data)))
        if url.endswith("get_cost"):
            return _JsonResponse(3.25)
        return _JsonResponse({"id": "GLBX-REAL-1", "state": "received"})

    def fake_get(url: str, params: Any = None, basic_auth: bool = False) -> Any:
        sent.append((url.rsplit("/", 1)[-1], dict(params or [])))
        return _JsonResponse([{"id": "GLBX-REAL-1", "state": "processing"}])

    for api in (client.batch, client.metadata):
        monkeypatch.setattr(api, "_post", fake_post)
        monkeypatch.setattr(api, "_get", fake_get)
    downloader = Downloader(client, lake, waiter=ManualWaiter())
    downloader.plan([JobSpec(DAY, "MNQ", "options", "statistics")])
    downloader.run_pass()
    assert downloader.records["20260206/MNQ/options/statistics"].remote_state == "processing"
    endpoint, form = sent[0]
    assert endpoint == "batch.submit_job"
    assert {k: form[k] for k in ("dataset", "symbols", "schema", "stype_in", "split_duration")} == {
        "dataset": "GLBX.MDP3",
        "symbols": "MNQ.OPT",
        "schema": "statistics",
        "stype_in": "parent",
        "split_duration": "day",
    }
    assert (form["encoding"], form["compression"], form["delivery"]) == ("dbn", "zstd", "download")
    assert form["start"].startswith("2026-02-06")
    assert form["end"].startswith("2026-02-07")
    assert sent[1][0] == "batch.list_jobs"
    assert sent[1][1]["states"] == "queued,processing,done,expired"
    [item] = estimate(client, [JobSpec(DAY, "MNQ", "futures", "mbo")], lake, waiter=ManualWaiter())
    assert item.cost_usd == 3.25
    assert sent[2][0] == "metadata.get_cost"
    assert sent[2][1]["symbols"] == "MNQ.FUT"


# -- a synthetic day (vp synth) in the lake ----------------------------------------------------


def _synthetic_day(lake: Path) -> Path:
    """`vp synth` for one minute of the day: a genuine DBN file under the real name, marked."""
    assert synth.main(["--lake-root", str(lake), "--start-et", "08:00", "--end-et", "08:01"]) == 0
    path = lake / FUT_REL
    assert synth_marker.is_synthetic(path)
    return path


def test_dry_run_says_it_will_replace_a_synthetic_day(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    _synthetic_day(harness.lake)
    capsys.readouterr()
    assert harness.run(*MNQ_DAY, "--include-futures", "--dry-run") == 0
    line = capsys.readouterr().out.splitlines()[1]
    assert "$12.50" in line and "already in lake" not in line
    assert line.endswith("(will replace the synthetic glbx-mdp3-20260206.mbo.dbn.zst)")


@pytest.mark.parametrize("decompressed", [False, True])
def test_the_real_file_replaces_a_synthetic_day(harness: Harness, decompressed: bool) -> None:
    synthetic = _synthetic_day(harness.lake)
    marker = synth_marker.marker_path(synthetic)
    if decompressed:  # the seed's `zstd -d --rm`: only the synthetic .dbn is left
        plain = synthetic.with_suffix("")
        plain.write_bytes(zstandard.ZstdDecompressor().stream_reader(synthetic.open("rb")).read())
        synthetic.unlink()
        assert synth_marker.is_synthetic(plain)
    assert harness.run(*MNQ_DAY, "--include-futures") == 0
    assert len(harness.server.submit_calls) == 1
    placed = harness.lake / FUT_REL
    assert placed.read_bytes() == harness.server.jobs["GLBX-0001"].content
    assert placed.stat().st_mode & 0o777 == 0o444
    # The synthetic file, its decompressed copy and its marker are gone: one raw file for the day.
    assert [p.name for p in placed.parent.iterdir()] == [placed.name]
    assert not marker.exists()
    assert harness.state()["20260206/MNQ/futures/mbo"]["state"] == COMPLETE


def test_a_day_marked_present_for_a_synthetic_file_is_fetched(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    # A run before synthetic files were recognised recorded the synthetic day as present.
    synthetic = _synthetic_day(harness.lake)
    marker = synth_marker.marker_path(synthetic)
    saved = marker.read_bytes()
    marker.unlink()
    assert harness.run(*MNQ_DAY, "--include-futures") == 0
    assert harness.state()["20260206/MNQ/futures/mbo"]["state"] == PRESENT
    marker.write_bytes(saved)
    caplog.set_level(logging.WARNING)
    assert harness.run(*MNQ_DAY, "--include-futures") == 0
    assert (harness.lake / FUT_REL).read_bytes() == harness.server.jobs["GLBX-0001"].content
    assert (
        f"20260206/MNQ/futures/mbo: {FUT_REL.as_posix()} is synthetic (vp synth); "
        "submitting a job for it"
    ) in caplog.messages


def test_a_stale_marker_never_makes_a_real_file_replaceable(harness: Harness) -> None:
    # The marker of an earlier synthetic day, next to the user's own real file: left alone.
    synthetic = _synthetic_day(harness.lake)
    synthetic.unlink()
    synthetic.write_bytes(b"user's own copy")
    assert harness.run(*MNQ_DAY, "--include-futures") == 0
    assert harness.server.submit_calls == []
    assert synthetic.read_bytes() == b"user's own copy"
    assert harness.state()["20260206/MNQ/futures/mbo"]["state"] == PRESENT
