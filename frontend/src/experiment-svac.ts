/**
 * SVac — Spatial Vacuum Asymmetry.
 *
 * `raw = sum_{k>0} vacuum/|k| - sum_{k<0} vacuum/|k|` (vacuum above spot is bullish), normalised
 * by an EMA of |raw| (alpha 0.05, seeded by the first |raw|, current bin included, floored at
 * 1e-6): `SVac = raw / max(ema, 1e-6)`. Warm from the first bin.
 */
import { Ema, type SignalGrid } from "./experiment-math";

export const SVAC_EMA_ALPHA = 0.05;
export const SVAC_FLOOR = 1e-6;

/** Distance-weighted vacuum imbalance of one grid. */
export function svacRaw(grid: SignalGrid): number {
  let above = 0;
  let below = 0;
  for (let i = 0; i < grid.k.length; i++) {
    const k = grid.k[i];
    if (k > 0) above += grid.vacuum_variant[i] / k;
    else if (k < 0) below += grid.vacuum_variant[i] / -k;
  }
  return above - below;
}

export interface SvacOutput {
  readonly value: number;
  readonly warm: boolean;
  readonly raw: number;
}

export class SvacSignal {
  private readonly scale = new Ema(SVAC_EMA_ALPHA);

  update(grid: SignalGrid): SvacOutput {
    const raw = svacRaw(grid);
    const ema = this.scale.update(Math.abs(raw));
    return { value: raw / Math.max(ema, SVAC_FLOOR), warm: true, raw };
  }
}
