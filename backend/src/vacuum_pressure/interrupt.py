"""SIGTERM handled as Ctrl-C by the commands that write files.

The README runs long commands with ``nohup ... &``, so ``kill`` (SIGTERM) is how users stop
them. Raised as ``KeyboardInterrupt``, it unwinds through the same cleanup as Ctrl-C (temporary
files and folders removed, nothing half-written left), and the command exits 130 with one line.
"""

from __future__ import annotations

import functools
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType

EXIT_INTERRUPTED = 130


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def interruptible(main: Callable[[Sequence[str] | None], int]) -> Callable[..., int]:
    """Decorate a command's ``main(argv)``: SIGTERM is Ctrl-C while it runs, and an interrupt
    exits ``EXIT_INTERRUPTED`` with one line. On the function itself, so the ``vp`` subcommand,
    the script and the ``vp-*`` console command all get it."""

    @functools.wraps(main)
    def run(argv: Sequence[str] | None = None) -> int:
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            return main(argv)
        except KeyboardInterrupt:
            sys.stderr.write("interrupted\n")
            return EXIT_INTERRUPTED
        finally:
            signal.signal(signal.SIGTERM, previous)

    return run
