"""Replay sources: every source yields ``events.EVENT_DTYPE`` arrays of one instrument in order."""

from .dbn import DbnSource, DecodeStats, open_replay
from .resolve import resolve_raw_file

__all__ = ["DbnSource", "DecodeStats", "open_replay", "resolve_raw_file"]
