/** Ring buffer of received bins (frame, signals and derived overlay values), newest last. */
import type { Band } from "./band-geometry";
import type { CompositeOutput } from "./experiment-engine";
import type { GridFrame } from "./protocol-types";

export interface HistoryColumn {
  /** Monotonic column number since the last clear (0 = first). */
  readonly index: number;
  readonly frame: GridFrame;
  /** Spot tick (spot_ref_price_int / tick_int), null when the server sent spot 0. */
  readonly spotTick: number | null;
  readonly bidTick: number | null;
  readonly askTick: number | null;
  readonly signals: CompositeOutput;
  /** Projection bands of this bin (from its composite), one per horizon. */
  readonly bands: readonly Band[];
  /** Predicted band centre (absolute tick, fractional) per horizon, null without spot. */
  readonly bandCentreTicks: readonly (number | null)[];
}

/** Slot of a monotonic column index in a ring of `capacity` slots. */
export function ringSlot(index: number, capacity: number): number {
  return ((index % capacity) + capacity) % capacity;
}

export class GridHistory {
  private readonly slots: (HistoryColumn | undefined)[];
  private next = 0;

  constructor(readonly capacity: number) {
    this.slots = new Array<HistoryColumn | undefined>(capacity);
  }

  /** Index the next pushed column gets. */
  get nextIndex(): number {
    return this.next;
  }

  /** Index of the newest column, -1 when empty. */
  get newestIndex(): number {
    return this.next - 1;
  }

  get size(): number {
    return Math.min(this.next, this.capacity);
  }

  push(make: (index: number) => HistoryColumn): HistoryColumn {
    const col = make(this.next);
    this.slots[ringSlot(this.next, this.capacity)] = col;
    this.next++;
    return col;
  }

  /** The column with monotonic `index`, if still held. */
  get(index: number): HistoryColumn | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.next || index < this.next - this.capacity) {
      return undefined;
    }
    return this.slots[ringSlot(index, this.capacity)];
  }

  newest(): HistoryColumn | undefined {
    return this.get(this.next - 1);
  }

  clear(): void {
    this.slots.fill(undefined);
    this.next = 0;
  }
}

/** Price int (bigint) to an absolute tick; null for 0 (no price). */
export function priceIntToTick(priceInt: bigint, tickInt: number): number | null {
  if (priceInt === 0n) return null;
  return Number(priceInt) / tickInt;
}
