"""One error family for the package: every message names what was wrong and what is accepted."""

from __future__ import annotations


class VPError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(VPError, ValueError):
    """The instrument config (or a runtime override) is invalid."""


class InstrumentLockError(VPError, ValueError):
    """A request asked for another product/symbol than the locked instrument."""


class SourceError(VPError):
    """A raw data file is missing, unreadable or not what was expected."""


class DataFileNotFoundError(SourceError, FileNotFoundError):
    """No raw file exists for the requested product, symbol and date."""


class OutOfRangePriceError(VPError, ValueError):
    """A price maps outside the absolute tick grid while fail_on_out_of_range is set."""


class BookIntegrityError(VPError, RuntimeError):
    """The order book reached an impossible state (negative depth, full order table)."""
