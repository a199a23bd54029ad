"""The absolute-tick order-book engine (SPEC 4-5)."""

from .engine import AbsoluteTickEngine, BookTop
from .kernels import FIELD_NAMES

__all__ = ["FIELD_NAMES", "AbsoluteTickEngine", "BookTop"]
