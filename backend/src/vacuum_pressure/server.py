"""The seed's module for the WebSocket server: the app lives in ``serve/`` (``create_app``
with ``ServerSettings``; ``serve.cli`` is ``run_vacuum_pressure.py``)."""

from .serve import ServerSettings, create_app

__all__ = ["ServerSettings", "create_app"]
