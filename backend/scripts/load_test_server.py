"""Thin wrapper: see vacuum_pressure.serve.loadtest (N WebSocket clients against one server)."""

from vacuum_pressure.serve.loadtest import main

if __name__ == "__main__":
    raise SystemExit(main())
