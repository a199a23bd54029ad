"""Thin wrapper: see vacuum_pressure.cache.cli."""

from vacuum_pressure.cache.cli import main
from vacuum_pressure.interrupt import run_interruptible

if __name__ == "__main__":
    raise SystemExit(run_interruptible(main, None))
