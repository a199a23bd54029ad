/**
 * ADS — Asymmetric Derivative Slope.
 *
 * Per bin: for each |k| band (1..3, 4..11, 12..23) the asymmetry
 * `mean(v_add bid) - mean(v_add ask) + mean(v_pull ask) - mean(v_pull bid)`, blended with
 * weights 1/sqrt(band width) normalised to sum 1. Rolling OLS slopes of that series over
 * 1 s, 2.5 s and 5 s, each robust-z scored over 20 s, then
 * `ADS = 0.40 tanh(z1/3) + 0.35 tanh(z2/3) + 0.25 tanh(z3/3)`; 0 until 20 s of bins are seen.
 */
import {
  msToBins,
  RollingOlsSlope,
  RollingRobustZ,
  sideBandMean,
  type SignalGrid,
} from "./experiment-math";

/** |k| bands as [lo, hi] inclusive. */
export const ADS_BANDS: readonly (readonly [number, number])[] = [
  [1, 3],
  [4, 11],
  [12, 23],
];
export const ADS_SLOPE_WINDOWS_MS: readonly number[] = [1000, 2500, 5000];
export const ADS_SLOPE_WEIGHTS: readonly number[] = [0.4, 0.35, 0.25];
export const ADS_Z_WINDOW_MS = 20000;
export const ADS_WARMUP_MS = 20000;
export const ADS_TANH_SCALE = 3;

/** Band weights 1/sqrt(width), normalised to sum 1. */
export function adsBandWeights(): number[] {
  const raw = ADS_BANDS.map(([lo, hi]) => 1 / Math.sqrt(hi - lo + 1));
  let total = 0;
  for (const w of raw) total += w;
  return raw.map((w) => w / total);
}

/** The blended bid/ask velocity asymmetry of one grid (the series ADS takes slopes of). */
export function adsAsymmetry(grid: SignalGrid, weights: readonly number[]): number {
  let combined = 0;
  for (let b = 0; b < ADS_BANDS.length; b++) {
    const [lo, hi] = ADS_BANDS[b];
    const addBid = sideBandMean(grid.k, grid.v_add, -1, lo, hi);
    const addAsk = sideBandMean(grid.k, grid.v_add, 1, lo, hi);
    const pullAsk = sideBandMean(grid.k, grid.v_pull, 1, lo, hi);
    const pullBid = sideBandMean(grid.k, grid.v_pull, -1, lo, hi);
    combined += weights[b] * (addBid - addAsk + pullAsk - pullBid);
  }
  return combined;
}

export interface AdsOutput {
  readonly value: number;
  readonly warm: boolean;
  readonly asymmetry: number;
  readonly slopes: readonly number[];
  readonly z: readonly number[];
}

export class AdsSignal {
  private readonly weights = adsBandWeights();
  private readonly slopes: RollingOlsSlope[];
  private readonly zScores: RollingRobustZ[];
  private readonly warmupBins: number;
  private binsSeen = 0;

  constructor(cellWidthMs: number) {
    this.slopes = ADS_SLOPE_WINDOWS_MS.map((ms) => new RollingOlsSlope(msToBins(ms, cellWidthMs, 2)));
    const zWindow = msToBins(ADS_Z_WINDOW_MS, cellWidthMs, 2);
    const minPeriods = Math.max(2, Math.floor(0.15 * zWindow));
    this.zScores = ADS_SLOPE_WINDOWS_MS.map(() => new RollingRobustZ(zWindow, minPeriods));
    this.warmupBins = msToBins(ADS_WARMUP_MS, cellWidthMs, 1);
  }

  update(grid: SignalGrid): AdsOutput {
    this.binsSeen++;
    const asymmetry = adsAsymmetry(grid, this.weights);
    const slopes = this.slopes.map((s) => s.push(asymmetry));
    const z = slopes.map((s, i) => this.zScores[i].push(s));
    const warm = this.binsSeen >= this.warmupBins;
    let value = 0;
    if (warm) {
      for (let i = 0; i < z.length; i++) {
        value += ADS_SLOPE_WEIGHTS[i] * Math.tanh(z[i] / ADS_TANH_SCALE);
      }
    }
    return { value, warm, asymmetry, slopes, z };
  }
}
