"""Constants and the Server handle shared by the server tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DT = "2026-02-06"
CORRUPT_DT = "2026-02-09"
START = "09:00"


@dataclass(frozen=True)
class Server:
    """A running test server: its port and lake root."""

    port: int
    root: Path

    def url(self, **params: str) -> str:
        """The stream URL with the default request, ``params`` overriding."""
        query = {"product_type": "future_mbo", "symbol": "MNQH6", "dt": DT, "start_time": START}
        query.update(params)
        text = "&".join(f"{k}={v}" for k, v in query.items())
        return f"ws://127.0.0.1:{self.port}/v1/vacuum-pressure/stream?{text}"
