/**
 * Projection band geometry (pure): where the purple Gaussian bands sit and how bright they are.
 *
 * One band per horizon in the right 15% of the heatmap. Centre offset from spot in rows:
 * `clip(composite, -1, 1) * MAX_OFFSET_ROWS * horizon_ms / max_horizon_ms` (positive = above
 * spot = bullish). Brightness: `|clip(composite)| * confidence * warmupFraction` with
 * confidence `(n - i) / n` for the i-th of n horizons (fades with horizon).
 */

export const BAND_ZONE_FRACTION = 0.15;
export const BAND_SIGMA_ROWS = 2.5;
export const MAX_OFFSET_ROWS = 8;

export interface Band {
  readonly horizonMs: number;
  /** Rows above (+) or below (-) spot. */
  readonly centreOffsetRows: number;
  readonly confidence: number;
  /** In [0, 1]. */
  readonly brightness: number;
}

const clip1 = (x: number) => (Number.isFinite(x) ? Math.max(-1, Math.min(1, x)) : 0);

export function horizonConfidence(index: number, count: number): number {
  return (count - index) / count;
}

export function computeBands(composite: number, warmupFraction: number, horizonsMs: readonly number[]): Band[] {
  const c = clip1(composite);
  const maxMs = Math.max(...horizonsMs);
  return horizonsMs.map((horizonMs, i) => {
    const confidence = horizonConfidence(i, horizonsMs.length);
    return {
      horizonMs,
      centreOffsetRows: c * MAX_OFFSET_ROWS * (horizonMs / maxMs),
      confidence,
      brightness: Math.abs(c) * confidence * warmupFraction,
    };
  });
}

/** Gaussian weight of a row `distanceRows` away from the band centre. */
export function bandWeight(distanceRows: number, sigmaRows = BAND_SIGMA_ROWS): number {
  return Math.exp(-0.5 * (distanceRows / sigmaRows) ** 2);
}

/** Pixel layout of the heatmap's plot area: history on the left, band zone on the right. */
export function splitPlot(plotWidth: number): { historyWidth: number; zoneWidth: number } {
  const zoneWidth = plotWidth * BAND_ZONE_FRACTION;
  return { historyWidth: plotWidth - zoneWidth, zoneWidth };
}

/** x range [x0, x1) of the i-th of n horizon bands inside the zone starting at zoneX. */
export function bandXRange(index: number, count: number, zoneX: number, zoneWidth: number): [number, number] {
  const w = zoneWidth / count;
  return [zoneX + index * w, zoneX + (index + 1) * w];
}

/**
 * Historical band trail value at history column `column`: the prediction made `lagBins`
 * (= horizon_ms / cell_width_ms, possibly fractional) columns earlier, linearly interpolated
 * between the two neighbouring columns; undefined where that history is missing.
 */
export function trailValueAt(
  valueAt: (column: number) => number | undefined,
  column: number,
  lagBins: number,
): number | undefined {
  const src = column - lagBins;
  const lo = Math.floor(src);
  const frac = src - lo;
  const v0 = valueAt(lo);
  if (v0 === undefined) return undefined;
  if (frac === 0) return v0;
  const v1 = valueAt(lo + 1);
  if (v1 === undefined) return undefined;
  return v0 + (v1 - v0) * frac;
}
