"""SIGTERM handled as Ctrl-C by the commands that write files.

The README runs long commands with ``nohup ... &``, so ``kill`` (SIGTERM) is how users stop
them. Raised as ``KeyboardInterrupt``, it unwinds through the same cleanup as Ctrl-C (temporary
files and folders removed, nothing half-written left), and the command exits 130 with one line.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from types import FrameType

EXIT_INTERRUPTED = 130


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_interruptible(entry: Callable[[list[str] | None], int], argv: list[str] | None) -> int:
    """``entry(argv)`` with SIGTERM as Ctrl-C; an interrupt exits ``EXIT_INTERRUPTED``."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return entry(argv)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
