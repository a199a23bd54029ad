"""Book cache and replay checkpoints on disk (SPEC 10, SPEC 11 item 1).

Both are ``.npz`` files (NumPy arrays only, never pickle) written atomically (temp file in the
same folder, then ``os.replace``), each with a ``__meta__`` JSON entry that holds

- the key: product type, symbol, date, start time (the warmup start follows from it), the raw
  file's identity, the config_version and the format version (checkpoints add the projection
  model), and
- a SHA-256 checksum over every array (name, dtype, shape and bytes).

A file whose key differs from the request (stale) or whose checksum or structure does not
verify (corrupt) is reported as ``CacheInvalidError``; callers log it, delete the file and
rebuild it. Nothing from a request reaches a path here unchecked: the path components come from
the validated product type, symbol (``^[A-Z0-9]{1,12}$``), date and clock.

Layout under ``lake/cache``::

    book/<product_type>/<SYMBOL>_<YYYYMMDD>_<HHMM>.npz
    checkpoints/<product_type>/<SYMBOL>_<YYYYMMDD>_<HHMM>_<projection hash>/
        key.json
        bin_<bin_seq:09d>.npz

A checkpoint is the serve pipeline's complete state right after the bin before ``bin_seq`` was
emitted, plus the number of source records consumed so far (the source position). The spectrum
state is ~60 MB dense but mostly untouched cells, so every array whose last axis is the cell axis
is stored sparsely: only the columns that differ from a fresh pipeline's state.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import queue
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import replacing
from ..errors import VPError
from ..lake import cache_dir
from ..source.resolve import validate_product_type, validate_symbol
from ..timeutil import parse_clock, parse_date

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: engine state v3 (core-path anchoring state, deferred clock)
"""Bumped whenever the stored layout or the pipeline state layout changes."""

IDENTITY_SAMPLE_BYTES = 1 << 20
"""Bytes hashed from the head and from the tail of a raw file for its identity."""

_META = "__meta__"
_COLS = "#cols"
_VALS = "#vals"


class CacheInvalidError(VPError):
    """A cache or checkpoint file is stale (key mismatch) or corrupt (checksum, structure)."""


@dataclass(frozen=True)
class RawFileIdentity:
    """Identity of a raw file: size, mtime (ns) and SHA-256 of its first and last MiB.

    A full-file hash would cost seconds per session on a multi-GB day; size + mtime + head/tail
    hash detects a re-download, a truncation or a replaced file.
    """

    name: str
    size: int
    mtime_ns: int
    head_tail_sha256: str


def raw_file_identity(path: Path) -> RawFileIdentity:
    """Identity of ``path`` (see RawFileIdentity)."""
    st = path.stat()
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        digest.update(fh.read(IDENTITY_SAMPLE_BYTES))
        if st.st_size > IDENTITY_SAMPLE_BYTES:
            fh.seek(max(IDENTITY_SAMPLE_BYTES, st.st_size - IDENTITY_SAMPLE_BYTES))
            digest.update(fh.read(IDENTITY_SAMPLE_BYTES))
    return RawFileIdentity(path.name, st.st_size, st.st_mtime_ns, digest.hexdigest())


@dataclass(frozen=True)
class CacheKey:
    """What a cached state depends on. ``projection`` is empty for the book cache (the book does
    not depend on it) and ``use_cubic,cubic_scale,damping_lambda`` for checkpoints."""

    product_type: str
    symbol: str
    dt: str
    start_time: str
    raw: RawFileIdentity
    config_version: str
    projection: str = ""
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        validate_product_type(self.product_type)
        validate_symbol(self.symbol)
        parse_date(self.dt)
        parse_clock(self.start_time, name="start_time", allow_seconds=False)

    def stem(self) -> str:
        """``SYMBOL_YYYYMMDD_HHMM`` built from validated fields only."""
        return f"{self.symbol}_{self.dt.replace('-', '')}_{self.start_time.replace(':', '')}"

    def as_json(self) -> dict[str, Any]:
        """The key as a JSON-ready dictionary."""
        return asdict(self)

    def with_projection(
        self, use_cubic: bool, cubic_scale: float, damping_lambda: float
    ) -> CacheKey:
        """The checkpoint key: this key plus the projection model."""
        text = f"{int(use_cubic)},{cubic_scale!r},{damping_lambda!r}"
        return CacheKey(
            self.product_type,
            self.symbol,
            self.dt,
            self.start_time,
            self.raw,
            self.config_version,
            text,
        )


# -- state <-> flat arrays -------------------------------------------------------------------------
def flatten_state(state: dict[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
    """A nested state dict (``ServePipeline.export_state``) as ``{"a.b": ndarray}``."""
    out: dict[str, np.ndarray] = {}
    for name, value in state.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            out.update(flatten_state(value, key + "."))
        else:
            out[key] = np.asarray(value)
    return out


def unflatten_state(flat: dict[str, np.ndarray]) -> dict[str, Any]:
    """Inverse of ``flatten_state``; 0-d arrays become Python scalars."""
    out: dict[str, Any] = {}
    for key, arr in flat.items():
        *parents, leaf = key.split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = arr.item() if arr.ndim == 0 else arr
    return out


def _bits(arr: np.ndarray) -> np.ndarray:
    """Exact bit patterns for comparison (NaN-safe, -0.0 distinct from 0.0)."""
    if arr.dtype.kind == "f":
        return arr.view(np.dtype(f"i{arr.dtype.itemsize}"))
    return arr


def _constant_fill(base: np.ndarray) -> np.ndarray | None:
    if base.ndim == 0 or base.size == 0:
        return None
    first = base.reshape(-1)[:1]
    return first if bool(np.all(_bits(base) == _bits(first)[0])) else None


def constant_fills(template: dict[str, np.ndarray], n_cells: int) -> dict[str, np.ndarray]:
    """The arrays ``sparse_encode`` stores sparsely: every ``template`` array whose last axis is
    ``n_cells`` and whose elements are all (bitwise) equal, mapped to that one-element fill.
    Computed once per template: scanning the ~60 MB template is most of an encode's cost."""
    fills: dict[str, np.ndarray] = {}
    for key, base in template.items():
        fill = _constant_fill(base) if base.ndim >= 1 and base.shape[-1] == n_cells else None
        if fill is not None:
            fills[key] = fill
    return fills


def sparse_encode(
    flat: dict[str, np.ndarray],
    template: dict[str, np.ndarray],
    fills: dict[str, np.ndarray],
    n_cells: int,
) -> dict[str, np.ndarray]:
    """Store the arrays named in ``fills`` (``constant_fills(template, n_cells)``) that have
    their template's shape as only the columns that differ from the fill."""
    out: dict[str, np.ndarray] = {}
    for key, arr in flat.items():
        fill = fills.get(key)
        if fill is None or arr.shape != template[key].shape:
            out[key] = arr
            continue
        differs = _bits(arr) != _bits(fill)[0]
        if arr.ndim > 1:
            differs = differs.reshape(-1, n_cells).any(axis=0)
        cols = np.flatnonzero(differs).astype(np.int32)
        out[key + _COLS] = cols
        out[key + _VALS] = np.ascontiguousarray(arr[..., cols])
    return out


def sparse_decode(
    stored: dict[str, np.ndarray], template: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Inverse of ``sparse_encode`` (``template`` gives shape, dtype and fill)."""
    out: dict[str, np.ndarray] = {}
    for key, arr in stored.items():
        if key.endswith(_VALS):
            continue
        if key.endswith(_COLS):
            name = key[: -len(_COLS)]
            base = template.get(name)
            if base is None:
                raise CacheInvalidError(f"sparse array {name!r} has no template")
            full = np.full(base.shape, base.reshape(-1)[0], dtype=base.dtype)
            vals = stored[name + _VALS]
            if arr.size and (int(arr.max()) >= base.shape[-1] or int(arr.min()) < 0):
                raise CacheInvalidError(f"sparse array {name!r} has column indices out of range")
            full[..., arr] = vals
            out[name] = full
        else:
            out[key] = arr
    return out


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for key in sorted(arrays):
        arr = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}|{arr.dtype.str}|{arr.shape}|".encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


def write_npz(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write ``arrays`` + ``meta`` (with a checksum) atomically to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {**meta, "checksum": _checksum(arrays)}
    payload = {**arrays, _META: np.array(json.dumps(meta, sort_keys=True))}
    with replacing(path, "wb") as fh:
        np.savez(fh, **payload)  # type: ignore[arg-type]


def read_npz(path: Path, key: CacheKey) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read and verify ``path``; raise CacheInvalidError when stale or corrupt."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except Exception as exc:
        # Damaged bytes surface as many types (BadZipFile, NotImplementedError for an unknown
        # compression method, tokenize errors from a .npy header, ...). A cache file that does
        # not read is rebuilt whatever the reason.
        raise CacheInvalidError(f"{path} is corrupt: {type(exc).__name__}: {exc}") from exc
    raw_meta = arrays.pop(_META, None)
    if raw_meta is None:
        raise CacheInvalidError(f"{path} is corrupt: no {_META} entry")
    try:
        meta = json.loads(str(raw_meta))
    except json.JSONDecodeError as exc:
        raise CacheInvalidError(f"{path} is corrupt: bad metadata ({exc})") from exc
    stored_key = meta.get("key")
    if stored_key != key.as_json():
        raise CacheInvalidError(
            f"{path} is stale: stored key {stored_key} != wanted {key.as_json()}"
        )
    if meta.get("checksum") != _checksum(arrays):
        raise CacheInvalidError(f"{path} is corrupt: checksum mismatch")
    return arrays, meta


def _discard(path: Path, exc: CacheInvalidError) -> None:
    logger.warning("discarding cache file: %s", exc)
    path.unlink(missing_ok=True)


# -- book cache ------------------------------------------------------------------------------------
def book_cache_path(root: Path, key: CacheKey) -> Path:
    """``lake/cache/book/<product_type>/<SYMBOL>_<YYYYMMDD>_<HHMM>.npz``."""
    return cache_dir(root) / "book" / key.product_type / f"{key.stem()}.npz"


def save_book_cache(
    root: Path, key: CacheKey, engine_state: dict[str, np.ndarray], position: int
) -> Path:
    """Store the engine state right after the book phase and the source position (records
    consumed before the first record at or after the warmup start)."""
    path = book_cache_path(root, key)
    meta = {"kind": "book", "key": key.as_json(), "position": int(position)}
    write_npz(path, {k: np.asarray(v) for k, v in engine_state.items()}, meta)
    logger.info("book cache written: %s (position %d)", path, position)
    return path


def load_book_cache(root: Path, key: CacheKey) -> tuple[dict[str, np.ndarray], int] | None:
    """``(engine_state, position)`` from a verified book cache; None when absent. A stale or
    corrupt file is logged, deleted and reported as absent (the caller rebuilds it)."""
    path = book_cache_path(root, key)
    if not path.is_file():
        return None
    try:
        arrays, meta = read_npz(path, key)
        if meta.get("kind") != "book" or not isinstance(meta.get("position"), int):
            raise CacheInvalidError(f"{path} is corrupt: not a book cache")
    except CacheInvalidError as exc:
        _discard(path, exc)
        return None
    return arrays, int(meta["position"])


# -- checkpoints -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Checkpoint:
    """A stored pipeline state: resume emits ``bin_seq`` next, starting at ``bin_start_ns``,
    after skipping ``position`` source records."""

    bin_seq: int
    bin_start_ns: int
    position: int
    state: dict[str, Any]


class CheckpointStore:
    """Checkpoints of one replay (key incl. projection model) on disk.

    ``template`` is a fresh ServePipeline's ``export_state()`` (gives shapes and fills for the
    sparse encoding); ``n_cells`` the config's ``n_absolute_ticks``.
    """

    def __init__(self, root: Path, key: CacheKey, template: dict[str, Any], n_cells: int) -> None:
        if not key.projection:
            raise VPError("checkpoint keys need the projection model (CacheKey.with_projection)")
        self.key = key
        proj_hash = hashlib.sha256(key.projection.encode()).hexdigest()[:8]
        self.folder = (
            cache_dir(root) / "checkpoints" / key.product_type / f"{key.stem()}_{proj_hash}"
        )
        self._template = flatten_state(template)
        self._n_cells = n_cells
        self._index: dict[int, tuple[int, Path]] = {}  # bin_start_ns -> (bin_seq, path)
        # The index is read by the producer and updated by the CheckpointWriter thread.
        self._lock = threading.Lock()
        self._open()

    def _open(self) -> None:
        key_file = self.folder / "key.json"
        wanted = self.key.as_json()
        if self.folder.is_dir():
            try:
                stored = json.loads(key_file.read_text())
            except (OSError, json.JSONDecodeError):
                stored = None
            if stored != wanted:
                logger.warning("checkpoints in %s are stale or unreadable; rebuilding", self.folder)
                for old in self.folder.glob("*.npz"):
                    old.unlink(missing_ok=True)
        else:
            stored = None
        self.folder.mkdir(parents=True, exist_ok=True)
        if stored != wanted:  # (sessions opening the store at once: ``replacing`` is race-free)
            with replacing(key_file) as fh:
                fh.write(json.dumps(wanted, sort_keys=True))
        for path in self.folder.glob("bin_*.npz"):
            parts = path.stem.split("_")
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                self._index[int(parts[2])] = (int(parts[1]), path)

    @functools.cached_property
    def _fills(self) -> dict[str, np.ndarray]:
        # On the first save (the writer thread), not per session: most sessions write none.
        return constant_fills(self._template, self._n_cells)

    def starts(self) -> list[int]:
        """``bin_start_ns`` of every checkpoint on disk, ascending."""
        with self._lock:
            return sorted(self._index)

    def save(self, bin_seq: int, bin_start_ns: int, position: int, state: dict[str, Any]) -> Path:
        """Persist a pipeline state that resumes at ``bin_seq`` / ``bin_start_ns``."""
        path = self.folder / f"bin_{bin_seq:09d}_{bin_start_ns}.npz"
        arrays = sparse_encode(flatten_state(state), self._template, self._fills, self._n_cells)
        meta = {
            "kind": "checkpoint",
            "key": self.key.as_json(),
            "bin_seq": int(bin_seq),
            "bin_start_ns": int(bin_start_ns),
            "position": int(position),
        }
        write_npz(path, arrays, meta)
        with self._lock:
            self._index[bin_start_ns] = (bin_seq, path)
        return path

    def nearest(self, target_start_ns: int) -> Checkpoint | None:
        """The verified checkpoint with the latest ``bin_start_ns <= target_start_ns``; corrupt
        or stale files met on the way are logged, deleted and skipped."""
        with self._lock:
            candidates = sorted(
                ((s, p) for s, (_, p) in self._index.items() if s <= target_start_ns), reverse=True
            )
        for start, path in candidates:
            try:
                arrays, meta = read_npz(path, self.key)
                flat = sparse_decode(arrays, self._template)
                missing = set(self._template) - set(flat)
                if meta.get("kind") != "checkpoint" or missing:
                    raise CacheInvalidError(f"{path} is corrupt: missing {sorted(missing)}")
            except CacheInvalidError as exc:
                _discard(path, exc)
                with self._lock:
                    self._index.pop(start, None)
                continue
            with contextlib.suppress(OSError):  # last use, for prune_cache's oldest-first order
                os.utime(path)
            return Checkpoint(
                int(meta["bin_seq"]),
                int(meta["bin_start_ns"]),
                int(meta["position"]),
                unflatten_state(flat),
            )
        return None


# -- background writing and the size bound ---------------------------------------------------------
DEFAULT_MAX_CACHE_BYTES = 4_000_000_000  # 4 GB: the server's and warm_cache's default bound
"""Default bound on ``lake/cache`` (4 GB, ~310 checkpoints of the synthetic day)."""

_STALE_TMP_S = 3600.0
"""Temp files older than this are leftovers of a killed writer."""


@dataclass(frozen=True)
class PruneResult:
    """What ``prune_cache`` removed and what is left (bytes)."""

    removed_files: int
    freed_bytes: int
    kept_bytes: int


def prune_cache(
    root: Path,
    max_bytes: int | None = None,
    max_age_s: float | None = None,
    keep: Path | None = None,
) -> PruneResult:
    """Delete checkpoints (``lake/cache/checkpoints``), least recently written or used first,
    until they total at most ``max_bytes``; every ``.npz`` (book caches too) older than
    ``max_age_s`` seconds; and temp files of killed writers (older than an hour). ``keep`` is
    never deleted (the file just written). Deleting is always safe: a missing book cache or
    checkpoint is rebuilt or skipped. Book caches (~2.5 MB each) do not count towards
    ``max_bytes``."""
    folder = cache_dir(root)
    checkpoints = folder / "checkpoints"
    now = time.time()
    removed = freed = 0
    files: list[tuple[float, int, Path]] = []
    for path in folder.rglob("*"):
        try:
            st = path.stat()
        except OSError:
            continue
        if not path.is_file():
            continue
        stale_tmp = path.name.endswith(".tmp") and now - st.st_mtime > _STALE_TMP_S
        too_old = path.suffix == ".npz" and max_age_s is not None and now - st.st_mtime > max_age_s
        if (stale_tmp or too_old) and path != keep:
            path.unlink(missing_ok=True)
            removed, freed = removed + 1, freed + st.st_size
        elif path.suffix == ".npz" and path.is_relative_to(checkpoints):
            files.append((st.st_mtime, st.st_size, path))
    total = sum(size for _, size, _ in files)
    if max_bytes is not None:
        for _, size, path in sorted(files, key=lambda f: f[0]):
            if total <= max_bytes:
                break
            if path == keep:
                continue
            path.unlink(missing_ok=True)
            removed, freed, total = removed + 1, freed + size, total - size
    if removed:
        logger.info(
            "cache pruned: %d files, %.1f MB freed, %.1f MB kept", removed, freed / 1e6, total / 1e6
        )
    return PruneResult(removed, freed, total)


_Job = tuple[CheckpointStore, int, int, int, dict[str, Any]]


class CheckpointWriter:
    """Encodes and writes checkpoints on one background thread, off the producers' paths.

    A producer only exports (copies) its state and calls ``submit``, which never blocks: with
    ``max_pending`` checkpoints already waiting the new one is dropped (a missing checkpoint only
    makes a later seek replay longer). After each write the cache under ``root`` is pruned to
    ``max_bytes`` (None: unbounded). Thread-safe; shared by every session of a server.
    """

    def __init__(
        self, root: Path, max_pending: int = 2, max_bytes: int | None = DEFAULT_MAX_CACHE_BYTES
    ) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._jobs: queue.Queue[_Job | None] = queue.Queue(max_pending)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.written = 0
        self.dropped = 0
        self.write_ms: deque[float] = deque(maxlen=1000)
        """Durations of the last writes (encode + checksum + write + fsync + rename), ms."""

    def submit(
        self,
        store: CheckpointStore,
        bin_seq: int,
        bin_start_ns: int,
        position: int,
        state: dict[str, Any],
    ) -> bool:
        """Queue one checkpoint (``state`` must be a copy the caller no longer mutates, as
        ``ServePipeline.export_state`` returns). False when dropped because the queue is full."""
        self._ensure_thread()
        try:
            self._jobs.put_nowait((store, bin_seq, bin_start_ns, position, state))
        except queue.Full:
            self.dropped += 1
            logger.info("checkpoint at bin %d dropped: the writer is busy", bin_seq)
            return False
        return True

    def flush(self) -> None:
        """Block until every submitted checkpoint is written (or failed)."""
        if self._thread is not None:
            self._jobs.join()

    def close(self, timeout_s: float = 30.0) -> None:
        """Write what is queued, then end the thread."""
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        self._jobs.put(None)
        thread.join(timeout_s)

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="vp-checkpoint-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                store, bin_seq, start, position, state = job
                t0 = time.perf_counter()
                path = store.save(bin_seq, start, position, state)
                self.write_ms.append((time.perf_counter() - t0) * 1e3)
                self.written += 1
                if self.max_bytes is not None:
                    prune_cache(self.root, self.max_bytes, keep=path)
            except Exception:  # a failed write must not end the thread (disk full, ...)
                logger.exception("checkpoint write failed")
            finally:
                self._jobs.task_done()
