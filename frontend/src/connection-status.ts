/** Connection badge state and the pure rules behind it (backoff, lag). */

/** `ended`: the replay has sent its last bin (end_of_data); the connection stays open for a seek. */
export type ConnectionPhase = "connecting" | "live" | "paused" | "ended" | "reconnecting" | "error" | "closed";

export interface ConnectionBadge {
  readonly phase: ConnectionPhase;
  readonly text: string;
}

/** Reconnect delay for the n-th consecutive failure (0-based): 500 ms doubling, capped at 10 s. */
export function reconnectDelayMs(attempt: number, baseMs = 500, maxMs = 10000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
}

/** Bins behind the paced stream below which the badge still says "live". */
export const LAG_TOLERANCE_BINS = 3;

/**
 * How many bins the client is behind the server's pacing: expected bins since the pacing
 * reference (`elapsedMs * speed / cellWidthMs`) minus bins received since then, floored at 0.
 */
export function lagBins(elapsedMs: number, speed: number, cellWidthMs: number, binsReceived: number): number {
  if (!(cellWidthMs > 0) || !(speed > 0)) return 0;
  return Math.max(0, Math.floor((elapsedMs * speed) / cellWidthMs) - binsReceived);
}

/**
 * The badge for `phase`. `noDataFrom` (ET time) matters only when `ended`: set when the replay
 * had not a single bin at or after that time, null when it ended after its last bin.
 */
export function badgeFor(phase: ConnectionPhase, lag: number, retryInMs = 0, noDataFrom: string | null = null): ConnectionBadge {
  switch (phase) {
    case "live":
      return lag > LAG_TOLERANCE_BINS
        ? { phase, text: `lagging by ${String(lag)} bins` }
        : { phase, text: "live" };
    case "ended":
      return { phase, text: noDataFrom === null ? "end of data" : `no data at or after ${noDataFrom}` };
    case "reconnecting":
      return { phase, text: `reconnecting in ${(retryInMs / 1000).toFixed(1)} s` };
    default:
      return { phase, text: phase };
  }
}
