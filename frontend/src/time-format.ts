/** Nanosecond timestamps -> America/New_York wall-clock strings. */

const ET_FORMAT = new Intl.DateTimeFormat("en-US", {
  timeZone: "America/New_York",
  hour12: false,
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

/** `HH:MM:SS` in ET for a UTC epoch timestamp in ns. */
export function formatEt(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const parts = ET_FORMAT.formatToParts(new Date(ms));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "00";
  // Some engines render midnight as "24" with hour12: false.
  const hour = get("hour") === "24" ? "00" : get("hour");
  return `${hour}:${get("minute")}:${get("second")}`;
}

/** `HH:MM:SS.mmm` in ET for a UTC epoch timestamp in ns. */
export function formatEtMillis(ns: bigint): string {
  const millis = Number((ns / 1_000_000n) % 1000n);
  return `${formatEt(ns)}.${String(millis).padStart(3, "0")}`;
}
