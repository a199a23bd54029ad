"""The seed's module for the engine: ``AbsoluteTickEngine`` lives in ``engine/`` (``engine.py``
orchestrates, ``kernels.py`` holds the numba kernels)."""

from .engine import AbsoluteTickEngine

__all__ = ["AbsoluteTickEngine"]
