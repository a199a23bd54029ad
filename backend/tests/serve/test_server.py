"""Integration tests: a real uvicorn server and real WebSocket clients (SPEC 8)."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from itertools import islice
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pytest
import websockets
from serve_support import DT, START, Server

from vacuum_pressure.config import load_config
from vacuum_pressure.pipeline.frames import ServeBin, grid_column_names
from vacuum_pressure.pipeline.replay import serve_bins
from vacuum_pressure.serve.arrow import GridEncoder, grid_schema

N_REF = 400


@pytest.fixture(scope="module")
def reference(synth_lake: Path) -> list[ServeBin]:
    """The serve pipeline's first bins, run directly (no server)."""
    return list(islice(serve_bins(load_config(), DT, START, root=synth_lake), N_REF))


async def _next_bin(ws: Any) -> tuple[dict[str, Any], pa.Table]:
    """The next grid_update and its binary frame (acks in between are skipped)."""
    while True:
        msg = await asyncio.wait_for(ws.recv(), 30)
        assert isinstance(msg, str), "binary frame without a grid_update header"
        head = json.loads(msg)
        if head["type"] == "grid_update":
            body = await asyncio.wait_for(ws.recv(), 30)
            assert isinstance(body, bytes)
            return head, pa.ipc.open_stream(body).read_all()
        assert head["type"] == "ack", head


async def _until(ws: Any, type_: str) -> dict[str, Any]:
    """The next text message of ``type_`` (frames already in flight before it are skipped)."""
    while True:
        msg = await asyncio.wait_for(ws.recv(), 30)
        if isinstance(msg, str) and (data := json.loads(msg)).get("type") == type_:
            return data


def _assert_same(head: dict[str, Any], table: pa.Table, ref: ServeBin) -> None:
    expected = ref.header.as_dict()
    for name, value in expected.items():
        got = head[name]
        assert (int(got) if isinstance(value, int) and isinstance(got, str) else got) == value, name
    for name, column in ref.columns().items():
        got = table.column(name).to_numpy()
        assert got.dtype == column.dtype, name
        assert np.array_equal(got.view(np.uint8), column.view(np.uint8)), name


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_health_and_cors(server: Server) -> None:
    base = f"http://127.0.0.1:{server.port}"
    ok = httpx.get(f"{base}/health", headers={"Origin": "http://localhost:5174"})
    assert ok.json() == {"status": "ok", "service": "vacuum-pressure"}
    assert ok.headers["access-control-allow-origin"] == "http://localhost:5174"
    other = httpx.get(f"{base}/health", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_frame_sequence_schema_and_values(server: Server, reference: list[ServeBin]) -> None:
    async def go() -> None:
        async with websockets.connect(server.url(), max_size=None) as ws:
            config = json.loads(await ws.recv())
            assert config["type"] == "runtime_config"
            assert config["stream_format"] == "dense_grid"
            assert config["deployment_stage"] == "pre_prod"
            assert config["grid_rows"] == 101
            assert config["config_version"] == load_config().config_version
            assert config["projection_horizons_ms"] == [100, 200, 300, 400]
            assert config["projection_model"] == {
                "use_cubic": False,
                "cubic_scale": 1 / 6,
                "damping_lambda": 0.0,
            }
            names = grid_column_names((100, 200, 300, 400))
            assert [f["name"] for f in config["grid_schema_fields"]] == names
            for ref in reference[:150]:
                head, table = await _next_bin(ws)
                assert table.num_rows == 101
                assert table.schema.names == names
                assert table.schema.field("k").type == pa.int32()
                assert table.schema.field("spectrum_state_code").type == pa.int8()
                assert table.schema.field("last_event_id").type == pa.int64()
                assert table.schema.field("proj_score_h400").type == pa.float64()
                _assert_same(head, table, ref)
            # int64 values above 2^53 travel as decimal strings.
            assert isinstance(head["bin_end_ns"], str)

    _run(go())


async def _refused(url: str, *, after_config: bool = False) -> tuple[str, int]:
    async with websockets.connect(url, max_size=None) as ws:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if after_config:  # the file opens; the damage is found while streaming
            assert msg["type"] == "runtime_config"
            while not isinstance(msg, dict) or msg.get("type") != "error":
                raw = await asyncio.wait_for(ws.recv(), 30)
                msg = json.loads(raw) if isinstance(raw, str) else None
        assert msg["type"] == "error"
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 30)
        assert ws.close_code is not None
        return msg["message"], ws.close_code


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"product_type": "option_mbo"}, "product_type"),
        ({"symbol": "../etc"}, "symbol"),
        ({"symbol": ""}, "symbol"),
        ({"dt": "2026-13-01"}, "2026-13-01"),
        ({"dt": "20260206"}, "20260206"),
        ({"start_time": "9am"}, "start_time"),
        ({"start_time": "09:00:00"}, "start_time"),
        # A trailing newline or non-ASCII digits must not pass (they named cache files).
        ({"start_time": "09:30%0A"}, "start_time"),
        ({"start_time": "%EF%BC%909:30"}, "start_time"),  # full-width 0
        ({"symbol": "MNQH6%0A"}, "symbol"),
        ({"dt": "2026-02-06%0A"}, "date"),
        ({"speed": "500"}, "speed"),
        ({"speed": "nan"}, "speed"),
        ({"projection_cubic_scale": "-1"}, "projection_cubic_scale"),
        ({"projection_damping_lambda": "inf"}, "projection_damping_lambda"),
        ({"projection_use_cubic": "maybe"}, "projection_use_cubic"),
    ],
)
def test_bad_parameter_is_refused_with_1008(server: Server, params: dict, named: str) -> None:
    message, code = _run(_refused(server.url(**params)))
    assert code == 1008
    assert named in message


def test_other_instrument_is_refused_by_the_lock(server: Server) -> None:
    message, code = _run(_refused(server.url(symbol="ESH4")))
    assert code == 1008
    assert "locked to future_mbo:MNQH6" in message


def test_missing_day_is_refused(server: Server) -> None:
    message, code = _run(_refused(server.url(dt="2026-02-10")))
    assert code == 1008
    assert "no raw data" in message


def test_corrupt_file_closes_that_client_while_another_streams(
    server: Server, reference: list[ServeBin]
) -> None:
    async def good() -> int:
        async with websockets.connect(server.url(), max_size=None) as ws:
            await ws.recv()
            for ref in reference[:100]:
                head, table = await _next_bin(ws)
                _assert_same(head, table, ref)
            return 100

    async def go() -> None:
        streamed, (message, code) = await asyncio.gather(
            good(), _refused(server.url(dt="2026-02-09"), after_config=True)
        )
        assert streamed == 100
        assert code == 1011
        assert "truncated or corrupt" in message

    _run(go())


def _replay_threads() -> int:
    return sum(t.name.startswith("vp-replay-") for t in threading.enumerate())


def _open_raw_files(root: Path) -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += target.startswith(str(root / "raw"))
    return count


def _wait_for_replay_threads(count: int) -> None:
    """Wait (at most 10 s) until ``count`` producer threads are alive: a handler joins its
    producer only after the client has seen the close, so an earlier test's may linger."""
    for _ in range(200):
        if _replay_threads() == count:
            return
        threading.Event().wait(0.05)


def test_disconnect_stops_the_producer(server: Server) -> None:
    _wait_for_replay_threads(0)  # no client of an earlier test still closing
    baseline_threads, baseline_files = _replay_threads(), _open_raw_files(server.root)

    async def go() -> None:
        for _ in range(2):
            await asyncio.to_thread(_wait_for_replay_threads, baseline_threads)
            async with websockets.connect(server.url(speed="1"), max_size=None) as ws:
                await ws.recv()
                await _next_bin(ws)
                assert _replay_threads() == baseline_threads + 1

    _run(go())
    _wait_for_replay_threads(baseline_threads)
    assert _replay_threads() == baseline_threads
    assert _open_raw_files(server.root) == baseline_files


def test_two_clients_stream_independently(server: Server, reference: list[ServeBin]) -> None:
    async def client(speed: str) -> list[int]:
        async with websockets.connect(server.url(speed=speed), max_size=None) as ws:
            await ws.recv()
            seqs = []
            for ref in reference[:30]:
                head, table = await _next_bin(ws)
                _assert_same(head, table, ref)
                seqs.append(head["bin_seq"])
            return seqs

    async def go() -> None:
        a, b = await asyncio.gather(client("0"), client("10"))
        assert a == b == list(range(30))

    _run(go())


def test_controls_pause_speed_and_invalid(server: Server) -> None:
    async def go() -> None:
        async with websockets.connect(server.url(speed="1"), max_size=None) as ws:
            await ws.recv()
            await _next_bin(ws)
            await ws.send(json.dumps({"type": "pause"}))
            assert await _until(ws, "ack") == {"type": "ack", "op": "pause"}
            with pytest.raises(TimeoutError):  # paused: nothing arrives
                await asyncio.wait_for(ws.recv(), 0.6)
            await ws.send(json.dumps({"type": "set_speed", "speed": 0}))
            assert json.loads(await ws.recv()) == {"type": "ack", "op": "set_speed", "speed": 0.0}
            await ws.send(json.dumps({"type": "set_speed", "speed": 1000}))
            err = json.loads(await ws.recv())
            assert err["type"] == "error" and "speed" in err["message"]
            await ws.send(json.dumps({"type": "seek", "time_et": "25:00"}))
            err = json.loads(await ws.recv())
            assert err["type"] == "error" and "time_et" in err["message"]
            await ws.send("not json")
            assert json.loads(await ws.recv())["type"] == "error"
            await ws.send(json.dumps({"type": "resume"}))
            assert json.loads(await ws.recv()) == {"type": "ack", "op": "resume"}
            await _next_bin(ws)  # the stream continues on the same connection

    _run(go())


def test_seek_lands_on_the_requested_bin_with_identical_values(
    server: Server, reference: list[ServeBin]
) -> None:
    async def seek(ws: Any, time_et: str) -> dict[str, Any]:
        await ws.send(json.dumps({"type": "seek", "time_et": time_et}))
        while (data := await _until(ws, "ack"))["op"] != "seek":
            pass
        return data

    async def go() -> None:
        async with websockets.connect(server.url(), max_size=None) as ws:
            await ws.recv()
            await _next_bin(ws)
            ack = await seek(ws, "09:00:25")  # forward, past the 10 s checkpoints
            assert ack["bin_seq"] == 250
            head, table = await _next_bin(ws)
            assert head["bin_seq"] == 250
            _assert_same(head, table, reference[250])
            ack = await seek(ws, "09:00:12")  # backwards
            assert ack["bin_seq"] == 120
            for ref in reference[120:125]:
                head, table = await _next_bin(ws)
                _assert_same(head, table, ref)

    _run(go())


def test_end_of_data_follows_the_last_bin_and_the_session_stays_open(server: Server) -> None:
    async def go() -> None:
        # The test day's records end at 09:08: from 09:07 about 600 bins, then end_of_data.
        async with websockets.connect(server.url(start_time="09:07"), max_size=None) as ws:
            assert json.loads(await ws.recv())["type"] == "runtime_config"
            last = None
            while True:
                msg = await asyncio.wait_for(ws.recv(), 30)
                assert isinstance(msg, str)
                data = json.loads(msg)
                if data["type"] == "end_of_data":
                    break
                assert data["type"] == "grid_update"
                assert isinstance(await asyncio.wait_for(ws.recv(), 30), bytes)
                last = data
            assert last is not None and last["bin_seq"] > 500
            assert data == {
                "type": "end_of_data",
                "last_bin_seq": last["bin_seq"],
                "last_bin_end_ns": str(last["bin_end_ns"]),
            }
            with pytest.raises(TimeoutError):  # quiet, but open: a seek back still works
                await asyncio.wait_for(ws.recv(), 0.5)
            await ws.send(json.dumps({"type": "seek", "time_et": "09:07:01"}))
            assert json.loads(await ws.recv())["op"] == "seek_requested"
            ack = json.loads(await asyncio.wait_for(ws.recv(), 30))
            assert (ack["op"], ack["bin_seq"]) == ("seek", 10)

        # A start after the data: nothing to send, and the client is told so at once.
        async with websockets.connect(server.url(start_time="09:30"), max_size=None) as ws:
            assert json.loads(await ws.recv())["type"] == "runtime_config"
            end = json.loads(await asyncio.wait_for(ws.recv(), 30))
            assert end == {"type": "end_of_data", "last_bin_seq": None, "last_bin_end_ns": None}

    _run(go())


def test_a_binary_control_frame_is_answered_with_an_error(server: Server) -> None:
    async def go() -> None:
        async with websockets.connect(server.url(speed="1"), max_size=None) as ws:
            await ws.recv()
            await _next_bin(ws)
            await ws.send(json.dumps({"type": "pause"}).encode())
            assert "binary" in (await _until(ws, "error"))["message"]
            await _next_bin(ws)  # not paused, still streaming

    _run(go())


def test_a_long_non_ascii_refusal_still_closes_with_its_code(server: Server) -> None:
    # 40 full-width letters are 120 bytes of UTF-8: the close reason must be cut by bytes.
    message, code = _run(_refused(server.url(symbol="%EF%BC%AD" * 40)))
    assert code == 1008
    assert "symbol" in message


def test_encoder_bytes_equal_the_arrow_stream_writer(reference: list[ServeBin]) -> None:
    schema = grid_schema((100, 200, 300, 400))
    encoder = GridEncoder(schema)
    for ref in reference[:20]:
        columns = ref.columns()
        batch = pa.RecordBatch.from_arrays(
            [pa.array(columns[f.name], type=f.type) for f in schema], schema=schema
        )
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, schema) as writer:
            writer.write_batch(batch)
        assert encoder.encode(ref) == sink.getvalue().to_pybytes()
