/** Builds SPEC 8 messages (runtime_config, grid_update, Arrow frames) for tests. */
import { tableFromArrays, tableToIPC } from "apache-arrow";
import { GRID_FLOAT_COLUMNS } from "../src/protocol-types";

export function runtimeConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const radius = (overrides.grid_radius_ticks as number | undefined) ?? 5;
  const cellWidth = (overrides.cell_width_ms as number | undefined) ?? 100;
  const bins = [1, 2, 3, 4];
  return {
    type: "runtime_config",
    product_type: "future_mbo",
    symbol: "MNQH6",
    symbol_root: "MNQ",
    price_scale: 1e-9,
    tick_size: 0.25,
    bucket_size_dollars: 0.25,
    rel_tick_size: 0.25,
    grid_radius_ticks: radius,
    cell_width_ms: cellWidth,
    n_absolute_ticks: 8192,
    projection_horizons_bins: bins,
    projection_horizons_ms: bins.map((b) => b * cellWidth),
    contract_multiplier: 2,
    qty_unit: "contracts",
    price_decimals: 2,
    config_version: "abcdef012345",
    projection_model: { use_cubic: false, cubic_scale: 1 / 6, damping_lambda: 0 },
    mode: "replay",
    deployment_stage: "pre_prod",
    stream_format: "dense_grid",
    grid_schema_fields: ["k", ...GRID_FLOAT_COLUMNS, "spectrum_state_code", "last_event_id"],
    grid_rows: 2 * radius + 1,
    ...overrides,
  };
}

/** 21000.00 in price_int units (price_scale 1e-9). */
export const SPOT_PRICE_INT = 21000n * 1_000_000_000n;
/** Tick int for tick_size 0.25 at price_scale 1e-9. */
export const TICK_INT = 250_000_000n;

export function gridHeader(seq: number, spotTicksOffset = 0, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const spot = SPOT_PRICE_INT + BigInt(spotTicksOffset) * TICK_INT;
  const end = 1_770_388_200_000_000_000n + BigInt(seq + 1) * 100_000_000n; // 2026-02-06 09:30 ET + bins
  return {
    type: "grid_update",
    bin_seq: seq,
    bin_start_ns: (end - 100_000_000n).toString(),
    bin_end_ns: end.toString(),
    bin_event_count: 3,
    event_id: 1000 + seq,
    ts_ns: end.toString(),
    mid_price: Number(spot) * 1e-9,
    spot_ref_price_int: Number(spot),
    best_bid_price_int: Number(spot - TICK_INT / 2n),
    best_ask_price_int: Number(spot + TICK_INT / 2n),
    book_valid: true,
    ...overrides,
  };
}

export interface GridOptions {
  radius: number;
  horizonsMs: readonly number[];
  /** Value of every float column at row i (default a small pattern). */
  value?: (column: string, k: number) => number;
  omit?: string;
  lastEventId?: (k: number) => bigint;
}

export function gridArrow(opts: GridOptions): Uint8Array {
  const n = 2 * opts.radius + 1;
  const value = opts.value ?? ((c: string, k: number) => (c === "spectrum_score" ? Math.tanh(k / 3) : Math.abs(k) + 1));
  const cols: Record<string, Int32Array | Float64Array | Int8Array | BigInt64Array> = {};
  cols.k = Int32Array.from({ length: n }, (_, i) => i - opts.radius);
  for (const name of GRID_FLOAT_COLUMNS) {
    cols[name] = Float64Array.from({ length: n }, (_, i) => value(name, i - opts.radius));
  }
  cols.spectrum_state_code = Int8Array.from({ length: n }, (_, i) => Math.sign(i - opts.radius));
  cols.last_event_id = BigInt64Array.from({ length: n }, (_, i) =>
    opts.lastEventId ? opts.lastEventId(i - opts.radius) : BigInt(i),
  );
  for (const ms of opts.horizonsMs) {
    cols[`proj_score_h${String(ms)}`] = Float64Array.from({ length: n }, () => 0.5);
  }
  const kept = Object.fromEntries(Object.entries(cols).filter(([name]) => name !== opts.omit));
  return tableToIPC(tableFromArrays(kept), "stream");
}
