/** Types of the SPEC 8 stream: runtime_config, grid_update headers and decoded grids. */

export interface ProjectionModel {
  readonly use_cubic: boolean;
  readonly cubic_scale: number;
  readonly damping_lambda: number;
}

/** The runtime_config text frame (fields the browser relies on; the rest is kept in `raw`). */
export interface RuntimeConfig {
  readonly product_type: string;
  readonly symbol: string;
  readonly tick_size: number;
  readonly price_scale: number;
  readonly grid_radius_ticks: number;
  readonly cell_width_ms: number;
  readonly projection_horizons_bins: readonly number[];
  readonly projection_horizons_ms: readonly number[];
  readonly price_decimals: number;
  readonly config_version: string;
  readonly projection_model: ProjectionModel;
  readonly mode: string;
  readonly deployment_stage: string;
  readonly stream_format: "dense_grid";
  readonly grid_schema_fields: readonly string[];
  readonly grid_rows: number;
  /** The session's replay speed (0 = unpaced); null when the server does not send it. */
  readonly speed: number | null;
  /** The replay's start time, ET `HH:MM`; null when the server does not send it. */
  readonly start_time: string | null;
  /** Price integer units per tick: round(tick_size / price_scale) (futures). */
  readonly tick_int: number;
  readonly raw: Readonly<Record<string, unknown>>;
}

/** The grid_update text frame that precedes each binary frame. int64 fields as bigint. */
export interface GridHeader {
  readonly bin_seq: bigint;
  readonly bin_start_ns: bigint;
  readonly bin_end_ns: bigint;
  readonly bin_event_count: bigint;
  readonly event_id: bigint;
  readonly ts_ns: bigint;
  readonly mid_price: number;
  readonly spot_ref_price_int: bigint;
  readonly best_bid_price_int: bigint;
  readonly best_ask_price_int: bigint;
  readonly book_valid: boolean;
}

/** Float64 columns of the Arrow grid, in SPEC 8 order (after `k`). */
export const GRID_FLOAT_COLUMNS = [
  "pressure_variant",
  "vacuum_variant",
  "add_mass",
  "pull_mass",
  "fill_mass",
  "rest_depth",
  "v_add",
  "v_pull",
  "v_fill",
  "v_rest_depth",
  "a_add",
  "a_pull",
  "a_fill",
  "a_rest_depth",
  "j_add",
  "j_pull",
  "j_fill",
  "j_rest_depth",
  "spectrum_score",
] as const;
export type GridFloatColumn = (typeof GRID_FLOAT_COLUMNS)[number];

/** One decoded grid: rows ordered as sent (k ascending in practice). */
export interface GridColumns {
  readonly rows: number;
  readonly k: Int32Array;
  readonly float: Readonly<Record<GridFloatColumn, Float64Array>>;
  readonly spectrum_state_code: Int8Array;
  readonly last_event_id: BigInt64Array;
  /** proj_score_h{ms} columns keyed by horizon ms, in config order. */
  readonly projections: ReadonlyMap<number, Float64Array>;
}

/** A header plus its grid: one bin. */
export interface GridFrame {
  readonly header: GridHeader;
  readonly grid: GridColumns;
}

/** Sent once after the last bin of a replay; both fields null when no bin exists at or after the start. */
export interface EndOfData {
  readonly last_bin_seq: bigint | null;
  readonly last_bin_end_ns: bigint | null;
}

/** Server reply to a control message. */
export interface ControlAck {
  readonly op: string;
  readonly raw: Readonly<Record<string, unknown>>;
}
