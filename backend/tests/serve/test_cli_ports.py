"""The server command refuses a port in use with one clear line, before starting anything."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
from serve_support import DT, START

from vacuum_pressure.serve.cli import main


@pytest.mark.parametrize("flag", ["--port", "--static-port"])
def test_a_port_in_use_is_refused_in_one_line(
    synth_lake: Path, flag: str, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        argv = ["--product-type", "future_mbo", "--symbol", "MNQH6", "--dt", DT]
        argv += ["--start-time", START, "--lake-root", str(synth_lake), flag, str(port)]
        if flag == "--static-port":
            argv += ["--port", "0"]
        with caplog.at_level(logging.ERROR):
            assert main(argv) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [
        f"cannot listen on 127.0.0.1:{port}: Address already in use (is another server running "
        "there? stop it or choose another --port / --static-port)"
    ]
