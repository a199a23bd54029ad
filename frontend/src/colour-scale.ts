/**
 * Heatmap cell colour from spectrum state/score and depth.
 *
 * Depth intensity is `log1p(depth) / log1p(runningMax)` against a running max that decays each
 * bin (so a past spike does not wash out the map forever). The cut-off zeroes intensities below
 * it and rescales the rest to [0, 1]; contrast bends that curve (`t^(1/contrast)`). The state
 * picks the hue (pressure blue, vacuum orange, neutral grey) and |score| how saturated it is.
 */

export type Rgb = readonly [number, number, number];

export const BACKGROUND: Rgb = [8, 10, 16];
export const PRESSURE_RGB: Rgb = [40, 200, 255];
export const VACUUM_RGB: Rgb = [255, 90, 40];
export const NEUTRAL_RGB: Rgb = [140, 140, 150];

export interface ColourSettings {
  /** > 0; 1 is linear, larger lifts faint cells. */
  readonly contrast: number;
  /** In [0, 1): intensities below it draw as background. */
  readonly cutoff: number;
}

export const DEFAULT_COLOUR_SETTINGS: ColourSettings = { contrast: 1, cutoff: 0.05 };

/** Per-bin decay of the depth running max. */
export const DEPTH_MAX_DECAY = 0.995;

/** Running maximum of depth that decays by `decay` per bin. */
export class DepthScale {
  private max = 0;

  constructor(readonly decay = DEPTH_MAX_DECAY) {}

  /** Folds in one column's largest depth and returns the new running max. */
  observe(columnMax: number): number {
    this.max = Math.max(columnMax, this.max * this.decay);
    return this.max;
  }

  get current(): number {
    return this.max;
  }

  reset(): void {
    this.max = 0;
  }
}

/** log1p(depth) / log1p(runningMax) clipped to [0, 1]; 0 when the max is not positive. */
export function depthIntensity(depth: number, runningMax: number): number {
  if (!(runningMax > 0) || !(depth > 0)) return 0;
  return Math.min(1, Math.log1p(depth) / Math.log1p(runningMax));
}

/** Applies cut-off and contrast to an intensity in [0, 1]. */
export function shapeIntensity(intensity: number, s: ColourSettings): number {
  if (intensity <= s.cutoff) return 0;
  const t = (intensity - s.cutoff) / (1 - s.cutoff);
  return Math.min(1, t ** (1 / s.contrast));
}

/** Cell colour: background blended towards the state hue by shaped depth x score strength. */
export function cellRgb(stateCode: number, score: number, intensity: number, s: ColourSettings): Rgb {
  const b = shapeIntensity(intensity, s);
  const m = Math.min(1, Math.abs(Number.isFinite(score) ? score : 0));
  let hue: Rgb;
  let mix: number;
  if (stateCode > 0) {
    hue = PRESSURE_RGB;
    mix = b * (0.35 + 0.65 * m);
  } else if (stateCode < 0) {
    hue = VACUUM_RGB;
    mix = b * (0.35 + 0.65 * m);
  } else {
    hue = NEUTRAL_RGB;
    mix = b * 0.5;
  }
  return [
    Math.round(BACKGROUND[0] + (hue[0] - BACKGROUND[0]) * mix),
    Math.round(BACKGROUND[1] + (hue[1] - BACKGROUND[1]) * mix),
    Math.round(BACKGROUND[2] + (hue[2] - BACKGROUND[2]) * mix),
  ];
}
