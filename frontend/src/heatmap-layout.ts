/** Pixel geometry of the heatmap: plot area, axes, columns and rows (pure). */
import { splitPlot } from "./band-geometry";

export const PRICE_AXIS_WIDTH = 76;
export const TIME_AXIS_HEIGHT = 22;

export interface HeatmapLayout {
  readonly width: number;
  readonly height: number;
  readonly plotWidth: number;
  readonly plotHeight: number;
  readonly historyWidth: number;
  readonly zoneWidth: number;
  readonly columnWidth: number;
  readonly visibleColumns: number;
  readonly visibleRows: number;
  readonly rowHeight: number;
}

export function computeLayout(width: number, height: number, visibleColumns: number, visibleRows: number): HeatmapLayout {
  const plotWidth = Math.max(1, width - PRICE_AXIS_WIDTH);
  const plotHeight = Math.max(1, height - TIME_AXIS_HEIGHT);
  const { historyWidth, zoneWidth } = splitPlot(plotWidth);
  return {
    width,
    height,
    plotWidth,
    plotHeight,
    historyWidth,
    zoneWidth,
    columnWidth: historyWidth / visibleColumns,
    visibleColumns,
    visibleRows,
    rowHeight: plotHeight / visibleRows,
  };
}

/** Left x of the column `age` bins older than the newest (age 0 ends at the history edge). */
export function columnX(layout: HeatmapLayout, age: number): number {
  return layout.historyWidth - (age + 1) * layout.columnWidth;
}

/** Centre y of an absolute (possibly fractional) tick given the tick at the top row. */
export function tickY(layout: HeatmapLayout, topTick: number, tick: number): number {
  return (topTick - tick + 0.5) * layout.rowHeight;
}

/** Column age and tick under a point in the history area; null outside it. */
export function hitCell(
  layout: HeatmapLayout,
  topTick: number,
  x: number,
  y: number,
): { age: number; tick: number } | null {
  if (x < 0 || x >= layout.historyWidth || y < 0 || y >= layout.plotHeight) return null;
  const age = Math.floor((layout.historyWidth - x) / layout.columnWidth);
  const row = Math.floor(y / layout.rowHeight);
  return { age, tick: topTick - row };
}

/** Label step in rows so that price labels are at least `minPx` apart. */
export function labelStepRows(rowHeight: number, minPx = 16): number {
  const steps = [1, 2, 4, 5, 10, 20, 40, 50, 100];
  return steps.find((s) => s * rowHeight >= minPx) ?? 100;
}
