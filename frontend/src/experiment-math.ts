/**
 * Pure numeric helpers shared by the experiment signals (ADS, PFP, SVac).
 *
 * Everything here is deterministic float64 arithmetic with a fixed operation order so the
 * Python research port can reproduce the same numbers (see FEATURES.md).
 */

/** Columns the experiment signals read from one grid (rows ordered by k). */
export interface SignalGrid {
  /** Row offset from spot in ticks (k > 0 above spot / ask side, k < 0 below / bid side). */
  readonly k: ArrayLike<number>;
  readonly v_add: ArrayLike<number>;
  readonly v_pull: ArrayLike<number>;
  readonly v_fill: ArrayLike<number>;
  readonly vacuum_variant: ArrayLike<number>;
}

/** Converts a duration in ms to a bin count: `max(minBins, ceil(ms / cellWidthMs))`. */
export function msToBins(ms: number, cellWidthMs: number, minBins: number): number {
  if (!(cellWidthMs > 0)) {
    throw new RangeError(`cell_width_ms must be > 0, got ${String(cellWidthMs)}`);
  }
  return Math.max(minBins, Math.ceil(ms / cellWidthMs));
}

/**
 * Mean of `values` over the rows whose |k| lies in [absLo, absHi] on one side of spot
 * (`side` +1 = above / ask, -1 = below / bid), summed in row order. 0 when no row qualifies.
 */
export function sideBandMean(
  k: ArrayLike<number>,
  values: ArrayLike<number>,
  side: 1 | -1,
  absLo: number,
  absHi: number,
): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < k.length; i++) {
    const kk = k[i] * side;
    if (kk >= absLo && kk <= absHi) {
      sum += values[i];
      count++;
    }
  }
  return count > 0 ? sum / count : 0;
}

/**
 * OLS slope of `y` against x = 0..n-1 (per bin), two-pass form:
 * `sum((x - xbar) * (y - ybar)) / sum((x - xbar)^2)`; 0 for fewer than 2 points.
 */
export function olsSlope(y: ArrayLike<number>): number {
  const n = y.length;
  if (n < 2) return 0;
  const xbar = (n - 1) / 2;
  let ysum = 0;
  for (let i = 0; i < n; i++) ysum += y[i];
  const ybar = ysum / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const dx = i - xbar;
    num += dx * (y[i] - ybar);
    den += dx * dx;
  }
  return num / den;
}

/** Median of an ascending-sorted array (mean of the two middle values for even length). */
export function medianOfSorted(sorted: ArrayLike<number>): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const mid = n >> 1;
  return n % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Robust z cut-off: a MAD scale at or below this yields z = 0. */
export const ROBUST_Z_MIN_SCALE = 1e-12;

/**
 * Robust z of the last element of `window` against the whole window (current one included):
 * `med`, `mad = median(|x - med|)`, `scale = 1.4826 * mad`, `z = (x - med) / scale`,
 * 0 when `scale <= ROBUST_Z_MIN_SCALE`.
 */
export function robustZ(window: ArrayLike<number>): number {
  const n = window.length;
  if (n === 0) return 0;
  const x = window[n - 1];
  const sorted = Float64Array.from(window).sort();
  const med = medianOfSorted(sorted);
  const dev = new Float64Array(n);
  for (let i = 0; i < n; i++) dev[i] = Math.abs(window[i] - med);
  dev.sort();
  const scale = 1.4826 * medianOfSorted(dev);
  return scale > ROBUST_Z_MIN_SCALE ? (x - med) / scale : 0;
}

/** Fixed-capacity FIFO of float64 values, oldest first. */
export class RollingWindow {
  private readonly buf: Float64Array;
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`window capacity must be an integer >= 1, got ${String(capacity)}`);
    }
    this.buf = new Float64Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  push(x: number): void {
    if (this.count < this.capacity) {
      this.buf[(this.start + this.count) % this.capacity] = x;
      this.count++;
    } else {
      this.buf[this.start] = x;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** The i-th value, 0 = oldest. */
  at(i: number): number {
    return this.buf[(this.start + i) % this.capacity];
  }

  /** The values in order, oldest first (a fresh array). */
  toArray(): Float64Array {
    const out = new Float64Array(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.at(i);
    return out;
  }

  clear(): void {
    this.start = 0;
    this.count = 0;
  }
}

/** Rolling OLS slope per bin over the last `window` values (fewer while filling). */
export class RollingOlsSlope {
  private readonly values: RollingWindow;

  constructor(window: number) {
    this.values = new RollingWindow(window);
  }

  /** Adds `y` and returns the slope over the current window (0 with fewer than 2 values). */
  push(y: number): number {
    this.values.push(y);
    return olsSlope(this.values.toArray());
  }
}

/** Rolling robust z over the last `window` values; 0 until `minPeriods` values are held. */
export class RollingRobustZ {
  private readonly values: RollingWindow;

  constructor(
    window: number,
    readonly minPeriods: number,
  ) {
    this.values = new RollingWindow(window);
  }

  push(x: number): number {
    this.values.push(x);
    if (this.values.length < this.minPeriods) return 0;
    return robustZ(this.values.toArray());
  }
}

/** Exponential moving average `ema = alpha * x + (1 - alpha) * ema`, seeded by the first value. */
export class Ema {
  private value = 0;
  private seeded = false;

  constructor(readonly alpha: number) {}

  update(x: number): number {
    if (!this.seeded) {
      this.value = x;
      this.seeded = true;
    } else {
      this.value = this.alpha * x + (1 - this.alpha) * this.value;
    }
    return this.value;
  }

  get current(): number {
    return this.value;
  }
}
