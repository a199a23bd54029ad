/** Crosshair tooltip text for a heatmap cell (pure) and its DOM box. */
import type { CellHit } from "./heatmap-renderer";
import type { RuntimeConfig } from "./protocol-types";
import { formatEtMillis } from "./time-format";

const STATE_NAMES: Record<number, string> = { 1: "pressure", 0: "neutral", [-1]: "vacuum" };

/** Lines shown for a cell: price, time, and the cell's values when the bin covered it. */
export function tooltipLines(hit: CellHit, config: RuntimeConfig): string[] {
  const price = hit.tick * config.tick_int * config.price_scale;
  const h = hit.column.frame.header;
  const lines = [`price ${price.toFixed(config.price_decimals)}`, `time ${formatEtMillis(h.bin_end_ns)} ET (bin ${String(h.bin_seq)})`];
  if (hit.row < 0) {
    lines.push("outside this bin's window");
    return lines;
  }
  const g = hit.column.frame.grid;
  const f = g.float;
  const i = hit.row;
  lines.push(
    `k ${String(g.k[i])}  state ${STATE_NAMES[g.spectrum_state_code[i]] ?? String(g.spectrum_state_code[i])}  score ${f.spectrum_score[i].toFixed(3)}`,
    `pressure ${f.pressure_variant[i].toFixed(3)}  vacuum ${f.vacuum_variant[i].toFixed(3)}`,
    `rest depth ${f.rest_depth[i].toFixed(0)}  v_add ${f.v_add[i].toFixed(3)}  v_pull ${f.v_pull[i].toFixed(3)}  v_fill ${f.v_fill[i].toFixed(3)}`,
    `last event ${String(g.last_event_id[i])}`,
  );
  for (const [ms, col] of g.projections) lines.push(`proj ${String(ms)} ms ${col[i].toFixed(3)}`);
  return lines;
}

export class Tooltip {
  constructor(private readonly box: HTMLElement) {}

  show(lines: readonly string[], x: number, y: number): void {
    this.box.textContent = lines.join("\n");
    this.box.hidden = false;
    // Flip to the left/top of the pointer when the box would leave its container.
    const parent = this.box.parentElement;
    const w = this.box.offsetWidth;
    const h = this.box.offsetHeight;
    const left = parent !== null && x + 14 + w > parent.clientWidth ? x - 14 - w : x + 14;
    const top = parent !== null && y + 14 + h > parent.clientHeight ? y - 14 - h : y + 14;
    this.box.style.left = `${String(Math.max(0, left))}px`;
    this.box.style.top = `${String(Math.max(0, top))}px`;
  }

  hide(): void {
    this.box.hidden = true;
  }
}
