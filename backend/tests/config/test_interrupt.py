"""SIGTERM to a file-writing command unwinds like Ctrl-C (a real process, a real signal)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SLOW_COMMAND = """
import pathlib, shutil, sys, time

def main(argv):
    out = pathlib.Path(argv[0])
    tmp = out.with_name("." + out.name + ".tmp")
    tmp.mkdir()
    try:
        (tmp / "part").write_text("half")
        out.with_name("ready").touch()
        time.sleep(30)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0
"""


def _run_and_kill(tmp_path: Path, command: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "slowcmd.py").write_text(SLOW_COMMAND)
    code = (
        "import sys; from vacuum_pressure import cli; "
        f"cli.COMMANDS[{command!r}] = ('slowcmd', ''); "
        f"sys.exit(cli.main([{command!r}, sys.argv[1]]))"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "out")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not (tmp_path / "ready").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_sigterm_runs_the_command_cleanup_and_exits_130(tmp_path: Path) -> None:
    done = _run_and_kill(tmp_path, "capture-like")
    assert done.returncode == 130
    assert done.stderr.strip() == "interrupted"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ready", "slowcmd.py"]


def test_the_server_and_the_daemon_keep_their_own_sigterm_handling(tmp_path: Path) -> None:
    # Without the wrapper SIGTERM's default action ends the process at once: no cleanup ran.
    done = _run_and_kill(tmp_path, "serve")
    assert done.returncode == -signal.SIGTERM
    assert (tmp_path / ".out.tmp").is_dir()
