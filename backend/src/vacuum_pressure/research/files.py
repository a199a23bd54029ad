"""Reading a capture's files with clear errors (a manifest that is not a JSON object or a file
that is not Parquet is reported by name instead of surfacing as a parser traceback), and the
temporary folders outputs are written in."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import VPError


def read_manifest(path: Path) -> dict[str, Any]:
    """A manifest.json as a dict."""
    try:
        manifest = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise VPError(f"{path} does not exist: expected a capture's manifest.json") from None
    except (ValueError, OSError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise VPError(f"{path} is not readable JSON ({exc}): expected a capture manifest") from None
    if not isinstance(manifest, dict):
        raise VPError(f"{path} holds a JSON {type(manifest).__name__}: expected a JSON object")
    return manifest


def open_parquet(path: Path) -> pq.ParquetFile:
    """A Parquet file opened for reading (its footer is checked)."""
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise VPError(f"{path} is not a readable Parquet file: {exc}") from None


def read_parquet(path: Path, columns: list[str] | None = None) -> pa.Table:
    """A Parquet table, optionally only ``columns``."""
    try:
        return pq.read_table(path, columns=columns)
    except (pa.ArrowException, OSError) as exc:
        wanted = f" with columns {columns}" if columns else ""
        raise VPError(f"{path} is not a readable Parquet file{wanted}: {exc}") from None


def staging_dir(prefix: str, parent: Path) -> Path:
    """A new hidden folder in ``parent`` to build an output in before renaming it into place,
    with the mode a plain ``mkdir`` would give (``mkdtemp`` makes it 0700, which the renamed
    output would keep, shutting other users of a shared lake out)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    return folder
