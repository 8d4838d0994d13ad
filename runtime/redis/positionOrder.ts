/**
 * Order of stream positions (Kafka offsets, Kinesis sequence numbers): decimal strings that
 * exceed 2^53, compared as big integers by length then digit by digit. The TypeScript twin of
 * scripts/includes/comparePositions.lua: both must agree, so both only accept canonical
 * decimals (no sign, no leading zeros).
 */
const CANONICAL_DECIMAL = /^(0|[1-9][0-9]*)$/;

export function isCanonicalPosition(position: string): boolean {
  return CANONICAL_DECIMAL.test(position);
}

/** -1, 0 or 1, like the Lua version. */
export function comparePositions(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
