/**
 * Composite directional signal: `0.40 ADS + 0.30 PFP + 0.30 SVac` over the signals that are
 * warm, weights renormalised to sum 1 (0 when none is warm); `warmupFraction = warm / 3`.
 */
import { AdsSignal, type AdsOutput } from "./experiment-ads";
import type { SignalGrid } from "./experiment-math";
import { PfpSignal, type PfpOutput } from "./experiment-pfp";
import { SvacSignal, type SvacOutput } from "./experiment-svac";

export const COMPOSITE_WEIGHTS = { ads: 0.4, pfp: 0.3, svac: 0.3 } as const;

export interface CompositeOutput {
  readonly ads: AdsOutput;
  readonly pfp: PfpOutput;
  readonly svac: SvacOutput;
  readonly composite: number;
  readonly warmupFraction: number;
}

/** Blends already computed signal values; exported for tests and the panel. */
export function blendComposite(
  parts: readonly { value: number; warm: boolean; weight: number }[],
): { composite: number; warmupFraction: number } {
  let weighted = 0;
  let weightSum = 0;
  let warmCount = 0;
  for (const p of parts) {
    if (!p.warm) continue;
    weighted += p.weight * p.value;
    weightSum += p.weight;
    warmCount++;
  }
  return {
    composite: weightSum > 0 ? weighted / weightSum : 0,
    warmupFraction: warmCount / parts.length,
  };
}

export class ExperimentEngine {
  private ads: AdsSignal;
  private pfp: PfpSignal;
  private svac: SvacSignal;

  constructor(private readonly cellWidthMs: number) {
    this.ads = new AdsSignal(cellWidthMs);
    this.pfp = new PfpSignal(cellWidthMs);
    this.svac = new SvacSignal();
  }

  /** Starts over (new stream, reconnect or seek). */
  reset(): void {
    this.ads = new AdsSignal(this.cellWidthMs);
    this.pfp = new PfpSignal(this.cellWidthMs);
    this.svac = new SvacSignal();
  }

  update(grid: SignalGrid): CompositeOutput {
    const ads = this.ads.update(grid);
    const pfp = this.pfp.update(grid);
    const svac = this.svac.update(grid);
    const { composite, warmupFraction } = blendComposite([
      { value: ads.value, warm: ads.warm, weight: COMPOSITE_WEIGHTS.ads },
      { value: pfp.value, warm: pfp.warm, weight: COMPOSITE_WEIGHTS.pfp },
      { value: svac.value, warm: svac.warm, weight: COMPOSITE_WEIGHTS.svac },
    ]);
    return { ads, pfp, svac, composite, warmupFraction };
  }
}
