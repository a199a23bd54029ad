"""Thin wrapper: see vacuum_pressure.serve.cli."""

from vacuum_pressure.serve.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
