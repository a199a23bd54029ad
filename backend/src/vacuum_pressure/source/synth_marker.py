"""The sidecar that marks a DBN file as synthetic (written by ``vp synth``).

A synthetic day is a genuine DBN file under a real Databento name, so only this sidecar tells it
apart from downloaded data: ``<name without .zst>.synthetic.json`` beside it, one marker for both
forms of the file (it survives ``zstd -d``). It records the size of each form; a file whose size
is not recorded is not the marked file, so a stale marker never claims a real file put in its
place. The download daemon replaces marked files with the real data.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ..atomic import replacing

log = logging.getLogger(__name__)

MARKER_SUFFIX = ".synthetic.json"


def marker_path(data_path: Path) -> Path:
    """The marker of ``x.dbn.zst`` or ``x.dbn``: ``x.dbn.synthetic.json`` in the same folder."""
    return data_path.with_name(data_path.name.removesuffix(".zst") + MARKER_SUFFIX)


def write_marker(data_path: Path, sizes: dict[str, int], details: dict[str, Any]) -> Path:
    """Write the marker of ``data_path`` atomically (temp file, rename); returns its path.

    ``sizes`` maps each file name the data may have (compressed and decompressed) to its size in
    bytes; ``details`` says how the file was made (seed, window, parameters).
    """
    path = marker_path(data_path)
    payload = {
        "synthetic": True,
        "note": "written by `vp synth`: not exchange data; the download daemon replaces it",
        "files": sizes,
        **details,
    }
    with replacing(path) as fh:
        fh.write(json.dumps(payload, indent=2) + "\n")
    return path


def is_synthetic(data_path: Path) -> bool:
    """Whether ``data_path`` is a synthetic file: its marker records this name at this size.

    Reads only the small marker and the file's size. An unreadable marker counts as no marker
    (the file is treated as real data, which is never replaced), with a warning.
    """
    path = marker_path(data_path)
    try:
        size = data_path.stat().st_size
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    except (OSError, ValueError) as exc:
        log.warning(
            "synthetic marker %s is unreadable (%s); %s counts as real", path, exc, data_path
        )
        return False
    files = payload.get("files") if isinstance(payload, dict) else None
    return isinstance(files, dict) and files.get(data_path.name) == size
