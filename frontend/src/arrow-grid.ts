/** Decodes one binary frame (a self-contained Arrow IPC stream) into typed grid columns. */
import { tableFromIPC, type Table } from "apache-arrow";
import { ProtocolError } from "./protocol-error";
import { GRID_FLOAT_COLUMNS, type GridColumns, type GridFloatColumn } from "./protocol-types";

/** Name of the projection column for a horizon in ms. */
export function projectionColumnName(horizonMs: number): string {
  return `proj_score_h${String(horizonMs)}`;
}

function column<T>(
  table: Table,
  name: string,
  ctor: new (...args: never[]) => T,
  typeName: string,
): T {
  const vector = table.getChild(name);
  if (vector === null) {
    throw new ProtocolError(`binary frame is missing column "${name}" (${typeName})`);
  }
  if (vector.nullCount > 0) {
    throw new ProtocolError(`column "${name}" has ${String(vector.nullCount)} null values`);
  }
  const values: unknown = vector.toArray();
  if (!(values instanceof ctor)) {
    throw new ProtocolError(`column "${name}" has type ${String(vector.type)}, expected ${typeName}`);
  }
  return values;
}

/**
 * Decodes an Arrow IPC stream with one record batch of `expectedRows` rows and the SPEC 8
 * columns (k, float64 grid columns, spectrum_state_code, last_event_id, proj_score_h{ms}).
 * Throws ProtocolError naming the first broken part of the contract.
 */
export function decodeGridFrame(
  bytes: Uint8Array,
  expectedRows: number,
  horizonsMs: readonly number[],
): GridColumns {
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new ProtocolError(`binary frame is not a readable Arrow IPC stream: ${detail}`);
  }
  if (table.numRows !== expectedRows) {
    throw new ProtocolError(
      `binary frame has ${String(table.numRows)} rows, expected grid_rows = ${String(expectedRows)}`,
    );
  }
  const k = column(table, "k", Int32Array, "int32");
  const float = {} as Record<GridFloatColumn, Float64Array>;
  for (const name of GRID_FLOAT_COLUMNS) {
    float[name] = column(table, name, Float64Array, "float64");
  }
  const projections = new Map<number, Float64Array>();
  for (const ms of horizonsMs) {
    projections.set(ms, column(table, projectionColumnName(ms), Float64Array, "float64"));
  }
  return {
    rows: table.numRows,
    k,
    float,
    spectrum_state_code: column(table, "spectrum_state_code", Int8Array, "int8"),
    last_event_id: column(table, "last_event_id", BigInt64Array, "int64"),
    projections,
  };
}
