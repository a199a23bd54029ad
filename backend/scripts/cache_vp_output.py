"""Capture the serve-path output of an ET window to Parquet; see ``--help`` and
FEATURES.md. All logic lives in vacuum_pressure.research."""

from vacuum_pressure.research.cli_capture import main

if __name__ == "__main__":
    raise SystemExit(main())
