"""Book cache and replay checkpoints under ``lake/cache`` (SPEC 10)."""

from .store import (
    CacheKey,
    CheckpointStore,
    RawFileIdentity,
    load_book_cache,
    raw_file_identity,
    save_book_cache,
)

__all__ = [
    "CacheKey",
    "CheckpointStore",
    "RawFileIdentity",
    "load_book_cache",
    "raw_file_identity",
    "save_book_cache",
]
