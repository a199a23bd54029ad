/**
 * Canvas heatmap: time (columns, newest right) x absolute price (rows), projection bands in the
 * right 15%, spot/BBO overlays, price and time axes, crosshair.
 *
 * Columns are painted once each into an off-screen ring canvas (1 px per bin x 1 px per tick,
 * absolute-tick rows); each draw() blits the ring in at most two pieces and paints overlays,
 * so a new bin costs one column, not the whole history. The ring is repainted from the
 * history only when the colour settings change or spot leaves the ring's price range.
 */
import { bandWeight, bandXRange, trailValueAt } from "./band-geometry";
import { CellColourCache } from "./cell-colour-cache";
import {
  BACKGROUND,
  cellRgb,
  DEFAULT_COLOUR_SETTINGS,
  DepthScale,
  depthIntensity,
  type ColourSettings,
} from "./colour-scale";
import { ringSlot, type GridHistory, type HistoryColumn } from "./grid-history";
import {
  columnX,
  computeLayout,
  hitCell,
  labelStepRows,
  PRICE_AXIS_WIDTH,
  TIME_AXIS_HEIGHT,
  tickY,
  type HeatmapLayout,
} from "./heatmap-layout";
import type { RuntimeConfig } from "./protocol-types";
import { formatEt } from "./time-format";

/** The ring holds this many times the visible rows, so spot can wander before a repaint. */
const RING_ROW_FACTOR = 5;
const BAND_RGB = "170, 90, 255";

export interface CellHit {
  readonly column: HistoryColumn;
  readonly tick: number;
  /** Row of the column's grid at that tick, -1 when the tick was outside that bin's window. */
  readonly row: number;
}

export class HeatmapRenderer {
  private readonly ctx: CanvasRenderingContext2D;
  private readonly ring: HTMLCanvasElement;
  private readonly ringCtx: CanvasRenderingContext2D;
  private readonly cache = new CellColourCache();
  private readonly depthScale = new DepthScale();
  private config: RuntimeConfig | null = null;
  private settings: ColourSettings = DEFAULT_COLOUR_SETTINGS;
  private layout: HeatmapLayout;
  private ringRows = 0;
  private ringBaseTick = 0;
  private viewCentreTick: number | null = null;
  private pending: number[] = [];
  private needsRepaint = false;
  private dirty = true;
  private crosshair: { x: number; y: number } | null = null;
  private dpr = 1;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly history: GridHistory,
  ) {
    const ctx = canvas.getContext("2d");
    const ring = canvas.ownerDocument.createElement("canvas");
    const ringCtx = ring.getContext("2d", { willReadFrequently: false });
    if (ctx === null || ringCtx === null) throw new Error("2D canvas is not available in this browser");
    this.ctx = ctx;
    this.ring = ring;
    this.ringCtx = ringCtx;
    this.layout = computeLayout(canvas.width, canvas.height, history.capacity, 1);
  }

  /** New stream geometry: clears the ring and caches. */
  setConfig(config: RuntimeConfig): void {
    this.config = config;
    this.ringRows = config.grid_rows * RING_ROW_FACTOR;
    this.ring.width = this.history.capacity;
    this.ring.height = this.ringRows;
    this.viewCentreTick = null;
    this.clear();
    this.relayout();
  }

  /** Forget painted history (reconnect, seek). */
  clear(): void {
    this.cache.clear();
    this.depthScale.reset();
    this.pending = [];
    this.ringCtx.clearRect(0, 0, this.ring.width, this.ring.height);
    this.dirty = true;
  }

  setColourSettings(s: ColourSettings): void {
    this.settings = s;
    this.needsRepaint = true;
    this.dirty = true;
  }

  get colourSettings(): ColourSettings {
    return this.settings;
  }

  /** A new column was pushed to the history: paint it at the next draw(). */
  update(index: number): void {
    this.pending.push(index);
    this.dirty = true;
  }

  setCrosshair(p: { x: number; y: number } | null): void {
    this.crosshair = p;
    this.dirty = true;
  }

  /** Sets the canvas backing size for a CSS size and device pixel ratio. */
  resize(cssWidth: number, cssHeight: number, dpr: number): void {
    this.dpr = dpr;
    this.canvas.width = Math.max(1, Math.round(cssWidth * dpr));
    this.canvas.height = Math.max(1, Math.round(cssHeight * dpr));
    this.canvas.style.width = `${String(cssWidth)}px`;
    this.canvas.style.height = `${String(cssHeight)}px`;
    this.relayout();
    this.dirty = true;
  }

  /** Current geometry (CSS pixels) and the tick at the top row (null before the first bin). */
  geometry(): { layout: HeatmapLayout; topTick: number | null } {
    return { layout: this.layout, topTick: this.topTick() };
  }

  /** Cell under a CSS-pixel point. */
  hitTest(cssX: number, cssY: number): CellHit | null {
    const top = this.topTick();
    if (top === null) return null;
    const hit = hitCell(this.layout, top, cssX, cssY);
    if (hit === null) return null;
    const column = this.history.get(this.history.newestIndex - hit.age);
    if (column === undefined) return null;
    let row = -1;
    if (column.spotTick !== null) {
      const k = hit.tick - column.spotTick;
      const ks = column.frame.grid.k;
      for (let i = 0; i < ks.length; i++) if (ks[i] === k) row = i;
    }
    return { column, tick: hit.tick, row };
  }

  /** Commits pending work; returns whether anything was drawn. One call per animation frame. */
  draw(): boolean {
    if (!this.dirty || this.config === null) return false;
    this.dirty = false;
    const newest = this.history.newest();
    if (newest?.spotTick != null) this.viewCentreTick = Math.round(newest.spotTick);
    if (this.needsRepaint || this.pendingLeavesRing()) {
      this.repaintRing();
    } else {
      for (const index of this.pending) {
        const col = this.history.get(index);
        if (col !== undefined) this.paintColumn(col);
      }
    }
    this.pending = [];
    this.compose();
    return true;
  }

  dispose(): void {
    this.pending = [];
    this.cache.clear();
    this.ring.width = 0;
    this.ring.height = 0;
  }

  private relayout(): void {
    const rows = this.config?.grid_rows ?? 1;
    this.layout = computeLayout(this.canvas.width / this.dpr, this.canvas.height / this.dpr, this.history.capacity, rows);
  }

  private topTick(): number | null {
    if (this.config === null || this.viewCentreTick === null) return null;
    return this.viewCentreTick + this.config.grid_radius_ticks;
  }

  private tickFits(tick: number): boolean {
    return tick >= this.ringBaseTick && tick < this.ringBaseTick + this.ringRows;
  }

  private pendingLeavesRing(): boolean {
    const r = this.config?.grid_radius_ticks ?? 0;
    return this.pending.some((i) => {
      const spot = this.history.get(i)?.spotTick;
      return spot != null && !(this.tickFits(Math.round(spot) - r) && this.tickFits(Math.round(spot) + r));
    });
  }

  private repaintRing(): void {
    this.needsRepaint = false;
    const centre = this.viewCentreTick ?? 0;
    this.ringBaseTick = centre - Math.floor(this.ringRows / 2);
    this.cache.clear();
    this.depthScale.reset();
    this.ringCtx.clearRect(0, 0, this.ring.width, this.ring.height);
    const newest = this.history.newestIndex;
    for (let i = Math.max(0, newest - this.history.capacity + 1); i <= newest; i++) {
      const col = this.history.get(i);
      if (col !== undefined) this.paintColumn(col);
    }
  }

  private paintColumn(col: HistoryColumn): void {
    const x = ringSlot(col.index, this.history.capacity);
    const img = this.ringCtx.createImageData(1, this.ringRows);
    const px = img.data;
    for (let y = 0; y < this.ringRows; y++) {
      px[y * 4] = BACKGROUND[0];
      px[y * 4 + 1] = BACKGROUND[1];
      px[y * 4 + 2] = BACKGROUND[2];
      px[y * 4 + 3] = 255;
    }
    const g = col.frame.grid;
    const depth = g.float.rest_depth;
    let colMax = 0;
    for (let i = 0; i < g.rows; i++) colMax = Math.max(colMax, depth[i]);
    const runningMax = this.depthScale.observe(colMax);
    if (col.spotTick !== null) {
      const spot = Math.round(col.spotTick);
      const topRingTick = this.ringBaseTick + this.ringRows - 1;
      for (let i = 0; i < g.rows; i++) {
        const tick = spot + g.k[i];
        if (!this.tickFits(tick)) continue;
        const rgb = this.cache.colourFor(tick, g.last_event_id[i], () =>
          cellRgb(g.spectrum_state_code[i], g.float.spectrum_score[i], depthIntensity(depth[i], runningMax), this.settings),
        );
        const o = (topRingTick - tick) * 4;
        px[o] = rgb[0];
        px[o + 1] = rgb[1];
        px[o + 2] = rgb[2];
      }
    }
    this.ringCtx.putImageData(img, x, 0);
  }

  private compose(): void {
    const ctx = this.ctx;
    const L = this.layout;
    const cfg = this.config;
    const top = this.topTick();
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.fillStyle = `rgb(${BACKGROUND.join(",")})`;
    ctx.fillRect(0, 0, L.width, L.height);
    if (cfg === null || top === null) return;
    const newest = this.history.newestIndex;
    this.blitRing(top);
    this.drawOverlays(top, newest);
    this.drawBands(top);
    this.drawAxes(top, newest);
    this.drawCrosshair();
  }

  private blitRing(top: number): void {
    const L = this.layout;
    const cap = this.history.capacity;
    const newest = this.history.newestIndex;
    if (newest < 0) return;
    const srcY = this.ringBaseTick + this.ringRows - 1 - top;
    const rows = L.visibleRows;
    const ctx = this.ctx;
    ctx.imageSmoothingEnabled = false;
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, 0, L.historyWidth, L.plotHeight);
    ctx.clip();
    // Slots newest+1..cap-1 hold the oldest columns, then 0..newest slot the newest ones.
    const s = ringSlot(newest, cap);
    const olderWidth = cap - 1 - s;
    if (olderWidth > 0) {
      ctx.drawImage(this.ring, s + 1, srcY, olderWidth, rows, 0, 0, olderWidth * L.columnWidth, L.plotHeight);
    }
    ctx.drawImage(this.ring, 0, srcY, s + 1, rows, olderWidth * L.columnWidth, 0, (s + 1) * L.columnWidth, L.plotHeight);
    ctx.restore();
  }

  private drawOverlays(top: number, newest: number): void {
    const L = this.layout;
    const ctx = this.ctx;
    const first = Math.max(0, newest - this.history.capacity + 1);
    const line = (pick: (c: HistoryColumn) => number | null, style: string, width: number) => {
      ctx.strokeStyle = style;
      ctx.lineWidth = width;
      ctx.beginPath();
      let drawing = false;
      for (let i = first; i <= newest; i++) {
        const c = this.history.get(i);
        const v = c === undefined ? null : pick(c);
        if (v === null) {
          drawing = false;
          continue;
        }
        const x0 = columnX(L, newest - i);
        const y = tickY(L, top, v);
        if (!drawing) ctx.moveTo(x0, y);
        else ctx.lineTo(x0, y);
        ctx.lineTo(x0 + L.columnWidth, y);
        drawing = true;
      }
      ctx.stroke();
    };
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, 0, L.plotWidth, L.plotHeight);
    ctx.clip();
    line((c) => c.bidTick, "rgba(80, 220, 120, 0.55)", 1);
    line((c) => c.askTick, "rgba(255, 110, 110, 0.55)", 1);
    line((c) => c.spotTick, "rgba(255, 255, 255, 0.9)", 1.5);
    // Historical band trails: prediction made horizon_ms / cell_width_ms bins earlier.
    const cfg = this.config;
    if (cfg !== null) {
      cfg.projection_horizons_ms.forEach((ms, h) => {
        const lag = ms / cfg.cell_width_ms;
        ctx.strokeStyle = `rgba(${BAND_RGB}, ${String(0.25 + 0.45 * ((cfg.projection_horizons_ms.length - h) / cfg.projection_horizons_ms.length))})`;
        ctx.lineWidth = 1;
        ctx.setLineDash([3, 3]);
        ctx.beginPath();
        let drawing = false;
        for (let i = first; i <= newest; i++) {
          const v = trailValueAt((c) => this.history.get(c)?.bandCentreTicks[h] ?? undefined, i, lag);
          if (v === undefined) {
            drawing = false;
            continue;
          }
          const x = columnX(L, newest - i) + L.columnWidth / 2;
          const y = tickY(L, top, v);
          if (drawing) ctx.lineTo(x, y);
          else ctx.moveTo(x, y);
          drawing = true;
        }
        ctx.stroke();
        ctx.setLineDash([]);
      });
    }
    ctx.restore();
  }

  private drawBands(top: number): void {
    const newest = this.history.newest();
    if (newest?.spotTick == null) return;
    const L = this.layout;
    const ctx = this.ctx;
    const spot = newest.spotTick;
    ctx.fillStyle = "rgba(255,255,255,0.03)";
    ctx.fillRect(L.historyWidth, 0, L.zoneWidth, L.plotHeight);
    const bands = newest.bands;
    bands.forEach((band, i) => {
      const [x0, x1] = bandXRange(i, bands.length, L.historyWidth, L.zoneWidth);
      const centre = spot + band.centreOffsetRows;
      for (let r = 0; r < L.visibleRows; r++) {
        const tick = top - r;
        const alpha = band.brightness * bandWeight(tick - centre);
        if (alpha < 0.01) continue;
        ctx.fillStyle = `rgba(${BAND_RGB}, ${alpha.toFixed(3)})`;
        ctx.fillRect(x0, r * L.rowHeight, x1 - x0, Math.ceil(L.rowHeight));
      }
    });
    const y = tickY(L, top, spot);
    ctx.strokeStyle = "rgba(255,255,255,0.6)";
    ctx.setLineDash([4, 4]);
    ctx.beginPath();
    ctx.moveTo(L.historyWidth, y);
    ctx.lineTo(L.plotWidth, y);
    ctx.stroke();
    ctx.setLineDash([]);
  }

  private drawAxes(top: number, newestIndex: number): void {
    const cfg = this.config;
    if (cfg === null) return;
    const L = this.layout;
    const ctx = this.ctx;
    ctx.fillStyle = "#11141c";
    ctx.fillRect(L.plotWidth, 0, PRICE_AXIS_WIDTH, L.height);
    ctx.fillRect(0, L.plotHeight, L.width, TIME_AXIS_HEIGHT);
    ctx.font = "11px ui-monospace, monospace";
    ctx.textBaseline = "middle";
    ctx.fillStyle = "#9aa4b8";
    const step = labelStepRows(L.rowHeight);
    const tickPrice = cfg.tick_int * cfg.price_scale;
    for (let r = 0; r < L.visibleRows; r++) {
      const tick = top - r;
      if (tick % step !== 0) continue;
      ctx.fillText((tick * tickPrice).toFixed(cfg.price_decimals), L.plotWidth + 6, (r + 0.5) * L.rowHeight);
    }
    const newest = this.history.newest();
    if (newest?.spotTick != null) {
      const y = tickY(L, top, newest.spotTick);
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(L.plotWidth, y - 8, PRICE_AXIS_WIDTH, 16);
      ctx.fillStyle = "#000000";
      ctx.fillText(newest.frame.header.mid_price.toFixed(cfg.price_decimals), L.plotWidth + 6, y);
    }
    ctx.fillStyle = "#9aa4b8";
    ctx.textBaseline = "top";
    const everyCols = Math.max(1, Math.ceil(110 / L.columnWidth));
    for (let age = 0; age < L.visibleColumns; age += everyCols) {
      const col = this.history.get(newestIndex - age);
      if (col === undefined) break;
      const x = columnX(L, age);
      ctx.fillRect(x + L.columnWidth - 1, L.plotHeight, 1, 4);
      ctx.fillText(formatEt(col.frame.header.bin_end_ns), Math.max(0, x - 50), L.plotHeight + 6);
    }
  }

  private drawCrosshair(): void {
    const p = this.crosshair;
    if (p === null) return;
    const L = this.layout;
    const ctx = this.ctx;
    ctx.strokeStyle = "rgba(255,255,255,0.35)";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(p.x, 0);
    ctx.lineTo(p.x, L.plotHeight);
    ctx.moveTo(0, p.y);
    ctx.lineTo(L.plotWidth, p.y);
    ctx.stroke();
  }
}
