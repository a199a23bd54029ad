"""Signal analysis (default, regime, projection_experiment); see ``--help`` and
FEATURES.md. All logic lives in vacuum_pressure.research."""

from vacuum_pressure.research.cli_analyze import main

if __name__ == "__main__":
    raise SystemExit(main())
