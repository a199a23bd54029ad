"""Pressure-core throughput benchmark. See ``vacuum_pressure.benchmark``."""

from vacuum_pressure.benchmark import main

if __name__ == "__main__":
    raise SystemExit(main())
