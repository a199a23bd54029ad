"""Find the raw ``.dbn``/``.dbn.zst`` file of one instrument and date in the lake (SPEC 3).

Every input is validated before it reaches a path, so a symbol or date can never walk outside
the lake. Missing data produces an error that shows where the file was expected, what the
folder holds, and how to get the data.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..config import PRODUCT_TYPES
from ..errors import DataFileNotFoundError, SourceError
from ..lake import lake_root, raw_file_name, raw_mbo_dir
from ..timeutil import parse_date

SYMBOL_RE = re.compile(r"[A-Z0-9]{1,12}\Z")
"""Accepted contract, ticker and root symbols (upper-case letters and digits)."""

# Futures contract = root + month code + 1-2 year digits (MNQH6 -> MNQ, ESZ24 -> ES). The root
# is matched lazily so that the month code and year are taken from the end.
_FUTURE_CONTRACT_RE = re.compile(r"([A-Z0-9]+?)[FGHJKMNQUVXZ][0-9]{1,2}\Z")

_LISTING_LIMIT = 20


def validate_symbol(symbol: str, *, name: str = "symbol") -> str:
    """Return ``symbol`` if it is 1-12 upper-case letters/digits; raise SourceError otherwise."""
    if not isinstance(symbol, str) or not SYMBOL_RE.match(symbol):
        raise SourceError(
            f"{name} {symbol!r} is invalid: expected 1-12 upper-case letters or digits "
            "(e.g. MNQH6, ESH4, ARL)"
        )
    return symbol


def validate_product_type(product_type: str) -> str:
    """Return ``product_type`` if it is one of ``config.PRODUCT_TYPES``."""
    if product_type not in PRODUCT_TYPES:
        raise SourceError(
            f"product_type {product_type!r} is invalid: expected one of {', '.join(PRODUCT_TYPES)}"
        )
    return product_type


def future_root(symbol: str) -> str:
    """Root of a futures contract: strip the month code and year digits (MNQH6 -> MNQ)."""
    validate_symbol(symbol)
    m = _FUTURE_CONTRACT_RE.match(symbol)
    if m is None:
        raise SourceError(
            f"symbol {symbol!r} is not a futures contract of the form ROOT + month code "
            "(FGHJKMNQUVXZ) + 1-2 year digits, e.g. MNQH6; set symbol_root in the "
            "instrument config to name the lake folder explicitly"
        )
    return m.group(1)


def symbol_dir(product_type: str, symbol: str, symbol_root: str | None = None) -> str:
    """Lake folder symbol: the root for futures (config's ``symbol_root`` or derived), else
    the symbol itself."""
    validate_product_type(product_type)
    validate_symbol(symbol)
    if product_type != "future_mbo":
        return symbol
    if symbol_root:
        return validate_symbol(symbol_root, name="symbol_root")
    return future_root(symbol)


def _folder_listing(folder: Path) -> str:
    names = sorted(p.name for p in folder.iterdir())
    if not names:
        return "the folder is empty"
    shown = ", ".join(names[:_LISTING_LIMIT])
    more = f" ... and {len(names) - _LISTING_LIMIT} more" if len(names) > _LISTING_LIMIT else ""
    return f"the folder holds: {shown}{more}"


def _how_to_get_data(product_type: str, folder_symbol: str, dt: str) -> str:
    download = (
        f"download it with `uv run scripts/batch_download_futures.py daemon --start {dt} "
        f"--end {dt} --symbols {folder_symbol} --include-futures` (needs DATABENTO_API_KEY)"
        if product_type == "future_mbo"
        else "download the Databento XNAS.ITCH MBO file for that day into it"
    )
    return f"To get data: {download}, or generate a synthetic day with `vp synth`."


def day_raw_files(folder: Path, dt: str) -> list[Path]:
    """The raw files of ``dt`` in ``folder``, uncompressed ones first: names holding
    ``YYYYMMDD`` and ending in ``.dbn`` or ``.dbn.zst``. Hidden names (``.x``) are temporary
    files being written, never data. An absent folder has none."""
    compact = parse_date(dt).strftime("%Y%m%d")
    if not folder.is_dir():
        return []
    found = [
        p
        for p in folder.iterdir()
        if compact in p.name
        and not p.name.startswith(".")
        and p.name.endswith((".dbn", ".dbn.zst"))
        and p.is_file()
    ]
    return sorted(found, key=lambda p: (not p.name.endswith(".dbn"), p.name))


def resolve_raw_file(
    root: Path | None,
    product_type: str,
    symbol: str,
    dt: str,
    *,
    symbol_root: str | None = None,
) -> Path:
    """Path of the raw MBO file of ``symbol`` on ``dt`` (``YYYY-MM-DD``) in the lake at ``root``.

    The folder is ``lake.raw_mbo_dir(root, product_type, <ROOT or SYMBOL>)``; the file is the one
    whose name contains ``YYYYMMDD`` and ends in ``.dbn`` or ``.dbn.zst`` (hidden names, which
    are files still being written, are ignored). An uncompressed copy
    of the same file is preferred over its ``.zst``. ``root`` None means ``lake.lake_root()``.

    Raises DataFileNotFoundError (missing folder or file) or SourceError (bad input, several
    different candidates).
    """
    day = parse_date(dt)
    folder_symbol = symbol_dir(product_type, symbol, symbol_root)
    folder = raw_mbo_dir(lake_root() if root is None else root, product_type, folder_symbol)
    compact = day.strftime("%Y%m%d")
    help_text = _how_to_get_data(product_type, folder_symbol, dt)
    if not folder.is_dir():
        raise DataFileNotFoundError(
            f"no raw data for {product_type}:{symbol} on {dt}: the folder {folder} does not "
            f"exist. {help_text}"
        )
    candidates = day_raw_files(folder, dt)
    if not candidates:
        raise DataFileNotFoundError(
            f"no raw data for {product_type}:{symbol} on {dt}: expected a file in {folder} whose "
            f"name contains {compact} and ends in .dbn or .dbn.zst (e.g. "
            f"{raw_file_name(product_type, compact)}); {_folder_listing(folder)}. "
            f"{help_text}"
        )
    stems = {p.name.removesuffix(".zst") for p in candidates}
    if len(stems) > 1:
        raise SourceError(
            f"several raw files in {folder} match {product_type}:{symbol} on {dt}: "
            f"{', '.join(sorted(p.name for p in candidates))}; keep exactly one file (an "
            "uncompressed .dbn beside its own .dbn.zst is fine) or move the others away"
        )
    return candidates[0]  # the uncompressed copy when there is one
