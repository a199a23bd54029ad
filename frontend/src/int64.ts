/** int64 wire values: JSON numbers, or decimal strings when they exceed 2^53 (SPEC 8). */

/** Parses an int64 header value sent as a JSON integer or a decimal string; null if invalid. */
export function parseInt64(value: unknown): bigint | null {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) ? BigInt(value) : null;
  }
  if (typeof value === "bigint") return value;
  if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
  return null;
}
