/**
 * Webhook signatures, the scheme Stripe made common: the sender computes
 * HMAC-SHA256(secret, `${timestamp}.${body}`) and sends `X-Sluice-Signature: t=<unix seconds>,v1=<hex>`.
 * A receiver recomputes it over the raw body it got, compares in constant time, and refuses
 * timestamps outside a tolerance, so a captured request cannot be replayed later. Several v1
 * entries may be present (a sender rotating secrets signs with both).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Sluice-Signature';
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function webhookSignature(secret: string, timestampSeconds: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.`).update(body).digest('hex');
}

/** The header value for `body` signed at `nowMs`. */
export function signWebhookBody(secret: string, body: string | Buffer, nowMs: number = Date.now()): string {
  const timestamp = Math.floor(nowMs / 1000);
  return `t=${timestamp},v1=${webhookSignature(secret, timestamp, body)}`;
}

export type SignatureVerdict =
  | { valid: true; timestamp: number }
  | { valid: false; reason: 'missing_header' | 'malformed_header' | 'timestamp_out_of_tolerance' | 'signature_mismatch' };

function parseHeader(header: string): { timestamp: number; signatures: string[] } | undefined {
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const equals = part.indexOf('=');
    if (equals < 0) return undefined;
    const name = part.slice(0, equals).trim();
    const value = part.slice(equals + 1).trim();
    if (name === 't') {
      if (!/^\d{1,12}$/.test(value) || timestamp !== undefined) return undefined;
      timestamp = Number(value);
    } else if (name === 'v1') {
      if (!/^[0-9a-f]{64}$/.test(value)) return undefined;
      signatures.push(value);
    }
    // other schemes (v0, future versions) are ignored, as receivers of such headers do
  }
  return timestamp === undefined || signatures.length === 0 ? undefined : { timestamp, signatures };
}

/**
 * Checks a request a receiver got: `header` is the X-Sluice-Signature value, `body` the raw
 * body exactly as received, `nowMs` the receiver's clock (epoch ms). Valid only when a v1
 * signature matches and the timestamp is within `toleranceSeconds` of now (either side).
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | string[] | undefined,
  body: string | Buffer,
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
  nowMs: number = Date.now(),
): SignatureVerdict {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value === '') return { valid: false, reason: 'missing_header' };
  const parsed = parseHeader(value);
  if (!parsed) return { valid: false, reason: 'malformed_header' };
  if (Math.abs(nowMs / 1000 - parsed.timestamp) > toleranceSeconds) return { valid: false, reason: 'timestamp_out_of_tolerance' };
  const expected = Buffer.from(webhookSignature(secret, parsed.timestamp, body), 'hex');
  const matches = parsed.signatures.some((signature) => timingSafeEqual(Buffer.from(signature, 'hex'), expected));
  return matches ? { valid: true, timestamp: parsed.timestamp } : { valid: false, reason: 'signature_mismatch' };
}
