"""Wire encoding of serve bins (SPEC 8): the grid_update header and the Arrow IPC frame."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

from ..pipeline.frames import ServeBin, grid_column_names

_SAFE_INT = 2**53
"""Integers above this lose precision as JavaScript numbers; they are sent as strings."""

_TYPES = {"k": pa.int32(), "spectrum_state_code": pa.int8(), "last_event_id": pa.int64()}


def grid_schema(horizons_ms: tuple[int, ...]) -> pa.Schema:
    """The Arrow schema of one grid frame: columns in wire order, float64 unless named."""
    return pa.schema(
        [
            pa.field(n, _TYPES.get(n, pa.float64()), nullable=False)
            for n in grid_column_names(horizons_ms)
        ]
    )


def schema_fields(schema: pa.Schema) -> list[dict[str, str]]:
    """``[{"name", "type"}]`` of a schema, for runtime_config.grid_schema_fields."""
    return [{"name": f.name, "type": str(f.type).replace("double", "float64")} for f in schema]


def _json_int(value: int) -> int | str:
    return str(value) if abs(value) > _SAFE_INT else value


def header_message(frame: ServeBin) -> str:
    """The grid_update text frame of a bin (int64 values above 2^53 as decimal strings)."""
    msg: dict[str, Any] = {"type": "grid_update"}
    for name, value in frame.header.as_dict().items():
        msg[name] = (
            _json_int(value) if isinstance(value, int) and not isinstance(value, bool) else value
        )
    return json.dumps(msg, separators=(",", ":"))


_EOS = b"\xff\xff\xff\xff\x00\x00\x00\x00"
"""Arrow IPC end-of-stream marker (continuation token, zero length)."""


class GridEncoder:
    """Encodes serve bins as self-contained Arrow IPC streams for one schema.

    The stream is the schema message, one record batch message and the end-of-stream marker,
    byte-identical to ``pa.ipc.new_stream`` output (tested). A batch without nulls has the same
    metadata (lengths, buffer offsets) for every bin of a given row count, so the encoder builds
    one template stream per row count with pyarrow and then only copies each column's bytes to
    its place: about 25 small copies per bin instead of building 25 Arrow arrays.
    """

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self._fields = [(f.name, f.type, np.dtype(f.type.to_pandas_dtype())) for f in schema]
        self._head = schema.serialize().to_pybytes()
        self._templates: dict[int, tuple[bytes, list[int]]] = {}

    def _arrow_stream(self, columns: dict[str, np.ndarray]) -> bytes:
        arrays = []
        for name, type_, dtype in self._fields:
            values = np.ascontiguousarray(columns[name], dtype=dtype)
            arrays.append(pa.Array.from_buffers(type_, len(values), [None, pa.py_buffer(values)]))
        batch = pa.RecordBatch.from_arrays(arrays, schema=self.schema)
        return b"".join((self._head, batch.serialize().to_pybytes(), _EOS))

    def _template(self, rows: int) -> tuple[bytes, list[int]]:
        """A stream whose columns hold distinct random bytes, and where each column's data
        starts in it (found by search; each pattern must occur exactly once)."""
        found = self._templates.get(rows)
        if found is not None:
            return found
        rng = np.random.default_rng(rows)
        columns = {
            name: rng.integers(0, 256, rows * dtype.itemsize, dtype=np.uint8).view(dtype)
            for name, _, dtype in self._fields
        }
        stream = self._arrow_stream(columns)
        offsets = []
        for name, _, _ in self._fields:
            pattern = columns[name].tobytes()
            at = stream.find(pattern)
            if at < 0 or stream.find(pattern, at + 1) >= 0:
                raise RuntimeError(f"cannot place column {name!r} in the Arrow template")
            offsets.append(at)
        self._templates[rows] = (stream, offsets)
        return stream, offsets

    def encode(self, frame: ServeBin) -> bytes:
        """One Arrow IPC stream (schema + one record batch of 2R+1 rows)."""
        columns = frame.columns()
        stream, offsets = self._template(len(frame.k))
        out = bytearray(stream)
        view = np.frombuffer(out, dtype=np.uint8)
        for (name, _, dtype), at in zip(self._fields, offsets, strict=True):
            data = np.ascontiguousarray(columns[name], dtype=dtype).view(np.uint8)
            view[at : at + data.size] = data
        return bytes(out)


def warm_up(schema: pa.Schema) -> None:
    """Encode one batch with the stream writer: the first Arrow conversion in a process costs
    ~1 s of lazy initialisation, which would otherwise land on the first client's first bin."""
    pa.array(np.zeros(1))
    batch = pa.RecordBatch.from_arrays(
        [pa.array(np.zeros(0), type=f.type) for f in schema], schema=schema
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_batch(batch)
