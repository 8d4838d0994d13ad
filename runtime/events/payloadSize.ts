/**
 * The invocation payload cap. Lambda takes at most 6 MB (6,291,456 bytes) per synchronous
 * invocation; an event source mapping sends a batch early rather than pass it, and a single
 * record too big for it goes to the on-failure destination (MaximumPayloadSizeExceeded).
 */
export const MAX_INVOCATION_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Bytes of the event as Lambda would send it: its UTF-8 JSON. */
export function eventPayloadBytes(event: unknown): number {
  return Buffer.byteLength(JSON.stringify(event) ?? '', 'utf8');
}
