/**
 * The SPEC 8 stream as a state machine: runtime_config first, then per bin a grid_update
 * text header immediately followed by one binary Arrow frame; end_of_data after the last bin of
 * a replay (more bins may follow a seek). Any departure throws a ProtocolError whose message
 * says what was broken.
 */
import { decodeGridFrame } from "./arrow-grid";
import { parseInt64 } from "./int64";
import { ProtocolError } from "./protocol-error";
import type { ControlAck, EndOfData, GridFrame, GridHeader, RuntimeConfig } from "./protocol-types";

/** What one incoming message turned into. */
export type StreamMessage =
  | { readonly kind: "config"; readonly config: RuntimeConfig }
  | { readonly kind: "header" }
  | { readonly kind: "frame"; readonly frame: GridFrame }
  | { readonly kind: "ack"; readonly ack: ControlAck }
  | { readonly kind: "end_of_data"; readonly end: EndOfData }
  | { readonly kind: "server_error"; readonly message: string }
  | { readonly kind: "ignored"; readonly type: string };

type Json = Record<string, unknown>;

function field(obj: Json, name: string, frame: string): unknown {
  if (!(name in obj) || obj[name] === null || obj[name] === undefined) {
    throw new ProtocolError(`${frame} is missing required field "${name}"`);
  }
  return obj[name];
}

function num(obj: Json, name: string, frame: string): number {
  const v = field(obj, name, frame);
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new ProtocolError(`${frame} field "${name}" must be a finite number, got ${JSON.stringify(v)}`);
  }
  return v;
}

function str(obj: Json, name: string, frame: string): string {
  const v = field(obj, name, frame);
  if (typeof v !== "string") {
    throw new ProtocolError(`${frame} field "${name}" must be a string, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A field the server may leave out: null when absent, otherwise read like a required one. */
function optional<T>(obj: Json, name: string, frame: string, read: (o: Json, n: string, f: string) => T): T | null {
  return obj[name] === undefined || obj[name] === null ? null : read(obj, name, frame);
}

function numList(obj: Json, name: string, frame: string): number[] {
  const v = field(obj, name, frame);
  if (!Array.isArray(v) || !v.every((x) => typeof x === "number" && Number.isFinite(x))) {
    throw new ProtocolError(`${frame} field "${name}" must be a list of numbers, got ${JSON.stringify(v)}`);
  }
  return v as number[];
}

function int64(obj: Json, name: string, frame: string): bigint {
  const v = field(obj, name, frame);
  const parsed = parseInt64(v);
  if (parsed === null) {
    throw new ProtocolError(
      `${frame} field "${name}" must be an integer or a decimal string, got ${JSON.stringify(v)}`,
    );
  }
  return parsed;
}

/** Validates a runtime_config object (SPEC 8 item 1). */
export function parseRuntimeConfig(obj: Json): RuntimeConfig {
  const f = "runtime_config";
  const streamFormat = str(obj, "stream_format", f);
  if (streamFormat !== "dense_grid") {
    throw new ProtocolError(`runtime_config stream_format is "${streamFormat}", expected "dense_grid"`);
  }
  const pm = field(obj, "projection_model", f);
  if (typeof pm !== "object" || pm === null) {
    throw new ProtocolError(`runtime_config field "projection_model" must be an object`);
  }
  const pmObj = pm as Json;
  const tickSize = num(obj, "tick_size", f);
  const priceScale = num(obj, "price_scale", f);
  const radius = num(obj, "grid_radius_ticks", f);
  const gridRows = num(obj, "grid_rows", f);
  if (!Number.isInteger(radius) || radius < 1 || gridRows !== 2 * radius + 1) {
    throw new ProtocolError(
      `runtime_config grid_rows ${String(gridRows)} must equal 2 * grid_radius_ticks + 1 (radius ${String(radius)})`,
    );
  }
  const cellWidth = num(obj, "cell_width_ms", f);
  if (!(cellWidth > 0) || !(tickSize > 0) || !(priceScale > 0)) {
    throw new ProtocolError(
      `runtime_config cell_width_ms, tick_size and price_scale must be > 0, got ${String(cellWidth)}, ${String(tickSize)}, ${String(priceScale)}`,
    );
  }
  const horizonsBins = numList(obj, "projection_horizons_bins", f);
  const horizonsMs = numList(obj, "projection_horizons_ms", f);
  if (horizonsBins.length !== horizonsMs.length) {
    throw new ProtocolError(
      `runtime_config projection_horizons_bins and projection_horizons_ms differ in length (${String(horizonsBins.length)} vs ${String(horizonsMs.length)})`,
    );
  }
  const schema = field(obj, "grid_schema_fields", f);
  if (!Array.isArray(schema)) {
    throw new ProtocolError(`runtime_config field "grid_schema_fields" must be a list`);
  }
  const speed = optional(obj, "speed", f, num);
  if (speed !== null && speed < 0) {
    throw new ProtocolError(`runtime_config speed must be >= 0, got ${String(speed)}`);
  }
  const schemaNames = schema.map((s: unknown) =>
    typeof s === "string" ? s : typeof s === "object" && s !== null && "name" in s ? String((s as Json).name) : String(s),
  );
  return {
    product_type: str(obj, "product_type", f),
    symbol: str(obj, "symbol", f),
    tick_size: tickSize,
    price_scale: priceScale,
    grid_radius_ticks: radius,
    cell_width_ms: cellWidth,
    projection_horizons_bins: horizonsBins,
    projection_horizons_ms: horizonsMs,
    price_decimals: typeof obj.price_decimals === "number" ? obj.price_decimals : 2,
    config_version: str(obj, "config_version", f),
    projection_model: {
      use_cubic: Boolean(field(pmObj, "use_cubic", "projection_model")),
      cubic_scale: num(pmObj, "cubic_scale", "projection_model"),
      damping_lambda: num(pmObj, "damping_lambda", "projection_model"),
    },
    mode: str(obj, "mode", f),
    deployment_stage: str(obj, "deployment_stage", f),
    stream_format: "dense_grid",
    grid_schema_fields: schemaNames,
    grid_rows: gridRows,
    speed,
    start_time: optional(obj, "start_time", f, str),
    tick_int: Math.round(tickSize / priceScale),
    raw: obj,
  };
}

/** Validates a grid_update header (SPEC 8 item 2). */
export function parseGridHeader(obj: Json): GridHeader {
  const f = "grid_update";
  const valid = field(obj, "book_valid", f);
  if (typeof valid !== "boolean") {
    throw new ProtocolError(`grid_update field "book_valid" must be a boolean, got ${JSON.stringify(valid)}`);
  }
  return {
    bin_seq: int64(obj, "bin_seq", f),
    bin_start_ns: int64(obj, "bin_start_ns", f),
    bin_end_ns: int64(obj, "bin_end_ns", f),
    bin_event_count: int64(obj, "bin_event_count", f),
    event_id: int64(obj, "event_id", f),
    ts_ns: int64(obj, "ts_ns", f),
    mid_price: num(obj, "mid_price", f),
    spot_ref_price_int: int64(obj, "spot_ref_price_int", f),
    best_bid_price_int: int64(obj, "best_bid_price_int", f),
    best_ask_price_int: int64(obj, "best_ask_price_int", f),
    book_valid: valid,
  };
}

/** Validates an end_of_data message: both fields present, both null or both int64. */
export function parseEndOfData(obj: Json): EndOfData {
  const f = "end_of_data";
  const nullableInt64 = (name: string) => (obj[name] === null ? null : int64(obj, name, f));
  const end = { last_bin_seq: nullableInt64("last_bin_seq"), last_bin_end_ns: nullableInt64("last_bin_end_ns") };
  if ((end.last_bin_seq === null) !== (end.last_bin_end_ns === null)) {
    throw new ProtocolError(`end_of_data fields "last_bin_seq" and "last_bin_end_ns" must both be null or both be set`);
  }
  return end;
}

export class ProtocolDecoder {
  private config: RuntimeConfig | null = null;
  private pendingHeader: GridHeader | null = null;

  /** The config of the current connection, once received. */
  get runtimeConfig(): RuntimeConfig | null {
    return this.config;
  }

  /** Forget everything (a new connection starts a new stream). */
  reset(): void {
    this.config = null;
    this.pendingHeader = null;
  }

  handleText(text: string): StreamMessage {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ProtocolError(`text frame is not JSON: ${text.slice(0, 80)}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new ProtocolError(`text frame is not a JSON object: ${text.slice(0, 80)}`);
    }
    const obj = parsed as Json;
    const type = obj.type;
    if (typeof type !== "string") {
      throw new ProtocolError(`text frame has no "type": ${text.slice(0, 80)}`);
    }
    switch (type) {
      case "runtime_config": {
        if (this.pendingHeader !== null) {
          throw new ProtocolError("runtime_config arrived while a grid_update waited for its binary frame");
        }
        this.config = parseRuntimeConfig(obj);
        return { kind: "config", config: this.config };
      }
      case "grid_update": {
        this.requireConfig(type);
        if (this.pendingHeader !== null) {
          throw new ProtocolError(
            `grid_update for bin ${String(obj.bin_seq)} arrived before the binary frame of bin ${String(this.pendingHeader.bin_seq)}`,
          );
        }
        this.pendingHeader = parseGridHeader(obj);
        return { kind: "header" };
      }
      case "end_of_data": {
        this.requireConfig(type);
        if (this.pendingHeader !== null) {
          throw new ProtocolError(
            `end_of_data arrived before the binary frame of bin ${String(this.pendingHeader.bin_seq)}`,
          );
        }
        return { kind: "end_of_data", end: parseEndOfData(obj) };
      }
      case "ack":
        return { kind: "ack", ack: { op: typeof obj.op === "string" ? obj.op : "", raw: obj } };
      case "error":
        return {
          kind: "server_error",
          message: typeof obj.message === "string" ? obj.message : JSON.stringify(obj),
        };
      default:
        return { kind: "ignored", type };
    }
  }

  handleBinary(data: ArrayBuffer | Uint8Array): StreamMessage {
    const config = this.requireConfig("binary grid frame");
    const header = this.pendingHeader;
    if (header === null) {
      throw new ProtocolError("binary grid frame arrived without a grid_update header");
    }
    this.pendingHeader = null;
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    const grid = decodeGridFrame(bytes, config.grid_rows, config.projection_horizons_ms);
    return { kind: "frame", frame: { header, grid } };
  }

  private requireConfig(what: string): RuntimeConfig {
    if (this.config === null) throw new ProtocolError(`${what} arrived before runtime_config`);
    return this.config;
  }
}
