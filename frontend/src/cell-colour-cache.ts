/**
 * Per absolute price tick: the colour last computed and the last_event_id it was computed for.
 * A cell's colour is recomputed only when its last_event_id changes (SPEC 9); otherwise the
 * cached colour is drawn again.
 */
import type { Rgb } from "./colour-scale";

export class CellColourCache {
  private readonly entries = new Map<number, { id: bigint; rgb: Rgb }>();
  /** Cells computed and reused since the last reset (reading aid for the status line). */
  computed = 0;
  reused = 0;

  colourFor(tick: number, lastEventId: bigint, compute: () => Rgb): Rgb {
    const hit = this.entries.get(tick);
    if (hit !== undefined && hit.id === lastEventId) {
      this.reused++;
      return hit.rgb;
    }
    const rgb = compute();
    this.entries.set(tick, { id: lastEventId, rgb });
    this.computed++;
    return rgb;
  }

  clear(): void {
    this.entries.clear();
    this.computed = 0;
    this.reused = 0;
  }
}
