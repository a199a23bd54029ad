/**
 * PFP — Pressure Front Propagation (inner/outer lead-lag).
 *
 * Per side (bid k<0, ask k>0) and channel (add = v_add + v_fill, pull = v_pull):
 * `inner` = mean over |k| 1..3, `outer` = mean over |k| 5..12,
 * `lead = EMA(inner_now * outer_lagged) / (EMA(inner_now * outer_now) + 1e-12)` with the outer
 * mean lagged by 500 ms in bins and EMAs (alpha 0.1) seeded by their first value.
 * `PFP = 0.6 (lead_bid_add - lead_ask_add) + 0.4 (lead_ask_pull - lead_bid_pull)`; 0 and not
 * warm until the lagged value exists.
 */
import { Ema, msToBins, RollingWindow, sideBandMean, type SignalGrid } from "./experiment-math";

export const PFP_INNER: readonly [number, number] = [1, 3];
export const PFP_OUTER: readonly [number, number] = [5, 12];
export const PFP_LAG_MS = 500;
export const PFP_EMA_ALPHA = 0.1;
export const PFP_EPS = 1e-12;
export const PFP_ADD_WEIGHT = 0.6;
export const PFP_PULL_WEIGHT = 0.4;

/** Order of the four side/channel combinations in every per-combination array here. */
export const PFP_COMBOS = ["bid_add", "ask_add", "bid_pull", "ask_pull"] as const;

function channelMeans(grid: SignalGrid, band: readonly [number, number]): number[] {
  const [lo, hi] = band;
  const addPlusFill = new Float64Array(grid.k.length);
  for (let i = 0; i < addPlusFill.length; i++) addPlusFill[i] = grid.v_add[i] + grid.v_fill[i];
  return [
    sideBandMean(grid.k, addPlusFill, -1, lo, hi),
    sideBandMean(grid.k, addPlusFill, 1, lo, hi),
    sideBandMean(grid.k, grid.v_pull, -1, lo, hi),
    sideBandMean(grid.k, grid.v_pull, 1, lo, hi),
  ];
}

export interface PfpOutput {
  readonly value: number;
  readonly warm: boolean;
  /** lead per combination in PFP_COMBOS order (0 before warm). */
  readonly leads: readonly number[];
}

export class PfpSignal {
  private readonly lagBins: number;
  /** Outer means of the last lagBins+1 bins, per combination. */
  private readonly outerHistory: RollingWindow[];
  private readonly numerators = PFP_COMBOS.map(() => new Ema(PFP_EMA_ALPHA));
  private readonly denominators = PFP_COMBOS.map(() => new Ema(PFP_EMA_ALPHA));

  constructor(cellWidthMs: number) {
    this.lagBins = msToBins(PFP_LAG_MS, cellWidthMs, 1);
    this.outerHistory = PFP_COMBOS.map(() => new RollingWindow(this.lagBins + 1));
  }

  update(grid: SignalGrid): PfpOutput {
    const inner = channelMeans(grid, PFP_INNER);
    const outer = channelMeans(grid, PFP_OUTER);
    outer.forEach((o, c) => this.outerHistory[c].push(o));
    const warm = this.outerHistory[0].length > this.lagBins;
    if (!warm) return { value: 0, warm, leads: [0, 0, 0, 0] };
    const leads = PFP_COMBOS.map((_, c) => {
      const lagged = this.outerHistory[c].at(0);
      const num = this.numerators[c].update(inner[c] * lagged);
      const den = this.denominators[c].update(inner[c] * outer[c]);
      return num / (den + PFP_EPS);
    });
    const [bidAdd, askAdd, bidPull, askPull] = leads;
    const value = PFP_ADD_WEIGHT * (bidAdd - askAdd) + PFP_PULL_WEIGHT * (askPull - bidPull);
    return { value, warm, leads };
  }
}
