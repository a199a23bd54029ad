"""SIGTERM to a file-writing command unwinds like Ctrl-C (a real process, a real signal)."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

from vacuum_pressure.cli import COMMANDS
from vacuum_pressure.interrupt import interruptible

SLOW_COMMAND = """
import pathlib, shutil, sys, time
from vacuum_pressure.interrupt import interruptible

@interruptible
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


def test_sigterm_runs_the_command_cleanup_and_exits_130(tmp_path: Path) -> None:
    (tmp_path / "slowcmd.py").write_text(SLOW_COMMAND)
    code = "import sys, slowcmd; sys.exit(slowcmd.main(sys.argv[1:]))"
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
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err.strip() == "interrupted"
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != "__pycache__")
    assert left == ["ready", "slowcmd.py"]  # no ".out.tmp", no "out"


def test_every_file_writing_entry_point_takes_sigterm_as_ctrl_c() -> None:
    # On the main functions themselves: `vp <cmd>`, backend/scripts/*.py and the vp-* console
    # commands all call them.
    wrapper_code = interruptible(lambda argv: 0).__code__  # every interruptible(main) runs it

    def wrapped(entry: object) -> bool:
        return getattr(entry, "__code__", None) is wrapper_code

    writers = {"synth", "warm-cache", "capture", "publish", "analyze"}
    for name, (target, _) in COMMANDS.items():
        module, _, function = target.partition(":")
        entry = getattr(importlib.import_module(module), function or "main")
        assert wrapped(entry) == (name in writers), name
    console = {
        ep.name: ep for ep in entry_points(group="console_scripts") if ep.name.startswith("vp-")
    }
    for name in ("vp-warm-cache", "vp-cache-output", "vp-publish-dataset", "vp-analyze-signals"):
        assert wrapped(console[name].load()), name
