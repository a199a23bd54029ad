"""Thin wrapper: see vacuum_pressure.cache.cli."""

from vacuum_pressure.cache.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
