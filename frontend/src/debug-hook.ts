/**
 * Read-only page state for end-to-end tests and the browser measurement script
 * (`window.__vp.snapshot()`), plus the per-bin timing samples behind it.
 *
 * Nothing here changes what the page does: the app copies a few numbers per bin into plain
 * fields, and snapshot() builds a fresh object each call so callers cannot reach live state.
 */

/** Recent duration samples (ms) in a fixed-size ring, so a long stream does not grow memory. */
export class TimingSamples {
  private readonly values: Float64Array;
  private next = 0;

  constructor(readonly capacity = 4096) {
    this.values = new Float64Array(capacity);
  }

  /** Samples recorded since the page loaded (may exceed capacity). */
  get count(): number {
    return this.next;
  }

  add(ms: number): void {
    this.values[this.next % this.capacity] = ms;
    this.next++;
  }

  /** The held samples, oldest first. */
  recent(): number[] {
    const n = Math.min(this.next, this.capacity);
    const out = new Array<number>(n);
    const start = this.next - n;
    for (let i = 0; i < n; i++) out[i] = this.values[(start + i) % this.capacity];
    return out;
  }
}

/** Per-bin costs measured with performance.now() (ms). */
export interface PageTimings {
  /** Binary frame -> typed grid columns (Arrow IPC decode and contract checks). */
  readonly decodeMs: TimingSamples;
  /** Signals, edge metrics, history push and panel values for one bin. */
  readonly updateMs: TimingSamples;
  /** One animation-frame commit: new heatmap column(s), blit, overlays, bands, axes, panel. */
  readonly drawMs: TimingSamples;
}

export function newPageTimings(): PageTimings {
  return { decodeMs: new TimingSamples(), updateMs: new TimingSamples(), drawMs: new TimingSamples() };
}

/** What `window.__vp.snapshot()` returns (all plain values). */
export interface DebugSnapshot {
  readonly phase: string;
  readonly badge: string;
  readonly speed: number;
  readonly paused: boolean;
  readonly error: string | null;
  /** Bins decoded since page load (across reconnects and seeks). */
  readonly binsReceived: number;
  /** Header of the newest bin held in the history, int64 fields as decimal strings. */
  readonly newest: {
    readonly bin_seq: number;
    readonly bin_end_ns: string;
    readonly mid_price: number;
    readonly spot_ref_price_int: string;
    readonly best_bid_price_int: string;
    readonly best_ask_price_int: string;
    readonly spot_tick: number | null;
    readonly composite: number;
    readonly warmup_fraction: number;
    readonly band_brightness: readonly number[];
    readonly band_centre_ticks: readonly (number | null)[];
  } | null;
  /** Oldest-first `[bin_seq, spot_tick]` of the bins held in the history. */
  readonly spots: readonly (readonly [number, number | null])[];
  /** Heatmap geometry in CSS pixels plus the tick at the top row (null before the first bin). */
  readonly layout: {
    readonly plotHeight: number;
    readonly historyWidth: number;
    readonly zoneWidth: number;
    readonly columnWidth: number;
    readonly rowHeight: number;
    readonly topTick: number | null;
  };
}

/** The held timing samples (ms, oldest first) and how many were recorded in total. */
export interface DebugTimings {
  readonly decodeMs: readonly number[];
  readonly updateMs: readonly number[];
  readonly drawMs: readonly number[];
  readonly binsTimed: number;
  readonly drawsTimed: number;
}

export interface DebugHook {
  snapshot(): DebugSnapshot;
  timings(): DebugTimings;
}

declare global {
  interface Window {
    __vp?: DebugHook;
  }
}
