"""The replay server: FastAPI WebSocket stream of serve-path bins as Arrow IPC (SPEC 8)."""

from .app import ServerSettings, create_app

__all__ = ["ServerSettings", "create_app"]
