"""A small synthetic lake and a real uvicorn server on a free loopback port."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from serve_support import CORRUPT_DT, DT, Server

from vacuum_pressure.config import load_config
from vacuum_pressure.lake import raw_file_name, raw_mbo_dir
from vacuum_pressure.serve import ServerSettings, create_app
from vacuum_pressure.source.synthetic import generate_day


@pytest.fixture(scope="session")
def synth_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MNQH6 on DT from 08:20 to 09:08 ET (book phase before 08:30, bins from 09:00), and a
    truncated file on CORRUPT_DT."""
    root = tmp_path_factory.mktemp("lake")
    folder = raw_mbo_dir(root, "future_mbo", "MNQ")
    good = folder / raw_file_name("future_mbo", DT.replace("-", ""))
    generate_day(good, symbol="MNQH6", dt=DT, start_et="08:20", end_et="09:08")
    bad = folder / raw_file_name("future_mbo", CORRUPT_DT.replace("-", ""))
    generate_day(bad, symbol="MNQH6", dt=CORRUPT_DT, start_et="08:20", end_et="09:05")
    with open(bad, "r+b") as fh:
        fh.truncate(os.path.getsize(bad) // 2)
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server(synth_lake: Path) -> Iterator[Server]:
    settings = ServerSettings(
        config=load_config(),
        lake_root=synth_lake,
        default_speed=0.0,
        checkpoint_interval_s=10.0,
    )
    port = free_port()
    srv = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.02)
    yield Server(port, synth_lake)
    srv.should_exit = True
    thread.join(10)
