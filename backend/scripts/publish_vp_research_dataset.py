"""Publish a capture as an immutable research dataset (``publish|add-agents|verify``); see
``--help`` and FEATURES.md. All logic lives in vacuum_pressure.research."""

from vacuum_pressure.research.cli_publish import main

if __name__ == "__main__":
    raise SystemExit(main())
