/**
 * HTTP front of the ingest function, like API Gateway in front of a function:
 * `POST /v1/telemetry` with a JSON array of readings (or one reading).
 *
 * - 202 {accepted} only once every reading is durable in the telemetry stream.
 * - 400 {errors: [{index, reason, message}]} when any item is invalid. The request is all or
 *   nothing: nothing is stored, so the client fixes the items and resends without duplicating
 *   the good ones. (The caller gets the reasons directly, so nothing goes to the dead-letter stream.)
 * - 413 when the body is over maxBodyBytes (checked on Content-Length and while reading).
 * - 503 when the stream did not take the readings (retriable: nothing was acknowledged).
 *
 * There is no MQTT topic here, so there is no topic anti-spoofing check: identity belongs to the
 * authentication in front of this endpoint.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../core/logger';
import { silentLogger } from '../core/logger';
import type { IngestPipeline } from './ingestPipeline';
import type { IngestRejection, IngestRejectionReason } from './telemetryValidation';
import { DEFAULT_MAX_PAYLOAD_BYTES, readingFromJson, tooLarge } from './telemetryValidation';

export interface HttpIngestOptions {
  pipeline: IngestPipeline;
  port: number;
  host?: string;
  /** Whole request body limit. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Per reading, as for MQTT. Default 256 KiB. */
  maxPayloadBytes?: number;
  /** Readings per request. Default 1000. */
  maxItems?: number;
  logger?: Logger;
}

export interface ItemError {
  index: number;
  reason: IngestRejectionReason;
  message: string;
}

export interface HttpIngestServer {
  url: string;
  close(): Promise<void>;
}

class BodyTooLarge extends Error {}

/** Fatal, as for MQTT payloads: a body that is not UTF-8 is bad_json, not JSON with U+FFFD in it. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * One item's JSON. JSON.stringify recurses, and an item nested a few thousand levels deep (10 KB
 * of `[`) overflows the stack, which answered 500; JSON.parse does not recurse, so such a body
 * parses. Those items are written here with an explicit stack instead (same text).
 */
function itemJson(item: unknown): string {
  try {
    return JSON.stringify(item);
  } catch (error) {
    // Checked by name: under jest's vm contexts the engine's RangeError is not the realm's.
    if ((error as { name?: unknown } | null)?.name !== 'RangeError') throw error;
  }
  // Entries are text to write as is, or values still to write; the stack is read backwards.
  const parts: string[] = [];
  const pending: Array<string | { value: unknown }> = [{ value: item }];
  while (pending.length > 0) {
    const next = pending.pop() as string | { value: unknown };
    if (typeof next === 'string') {
      parts.push(next);
      continue;
    }
    const value = next.value;
    if (typeof value !== 'object' || value === null) {
      parts.push(JSON.stringify(value));
      continue;
    }
    const isArray = Array.isArray(value);
    const entries: Array<[string | undefined, unknown]> = isArray ? (value as unknown[]).map((child) => [undefined, child]) : Object.entries(value);
    parts.push(isArray ? '[' : '{');
    pending.push(isArray ? ']' : '}');
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i] as [string | undefined, unknown];
      pending.push({ value: child });
      if (key !== undefined) pending.push(`${JSON.stringify(key)}:`);
      if (i > 0) pending.push(',');
    }
  }
  return parts.join('');
}

function send(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

async function readBody(request: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function schemaViolation(checked: ReturnType<typeof readingFromJson>): IngestRejection | undefined {
  return typeof checked === 'string' ? { reason: 'schema_violation', message: checked } : undefined;
}

export async function startHttpIngest(options: HttpIngestOptions): Promise<HttpIngestServer> {
  const logger = options.logger ?? silentLogger;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const maxItems = options.maxItems ?? 1000;

  async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    if (request.url !== '/v1/telemetry') return send(response, 404, { error: 'not_found', message: 'POST /v1/telemetry' });
    if (request.method !== 'POST') return send(response, 405, { error: 'method_not_allowed', message: 'POST /v1/telemetry' });
    let body: Buffer;
    try {
      body = await readBody(request, maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        send(response, 413, { error: 'too_large', message: `request body over ${maxBodyBytes} bytes` });
        request.resume(); // let the client finish sending so it reads the answer
        return;
      }
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(utf8.decode(body));
    } catch (error) {
      return send(response, 400, { error: 'bad_json', message: error instanceof Error ? error.message : String(error) });
    }
    const items = Array.isArray(parsed) ? parsed : [parsed];
    if (items.length === 0) return send(response, 400, { error: 'schema_violation', message: 'expected at least one reading' });
    if (items.length > maxItems) return send(response, 413, { error: 'too_large', message: `at most ${maxItems} readings per request, got ${items.length}` });

    const payloads = items.map((item) => Buffer.from(itemJson(item)));
    const now = Date.now();
    const errors: ItemError[] = [];
    payloads.forEach((payload, index) => {
      // The item as parsed is judged, not its JSON: writing JSON turns 1e400 (parsed as Infinity)
      // into null, and `"battery": 1e400` would pass as "no battery". The JSON is what is
      // measured and stored (for a valid item it says the same: finite numbers write exactly).
      const rejection: IngestRejection | undefined = tooLarge(payload, maxPayloadBytes) ?? schemaViolation(readingFromJson(items[index], now));
      if (rejection) errors.push({ index, ...rejection });
    });
    if (errors.length > 0) return send(response, 400, { error: 'invalid_items', errors });

    const stored = payloads.map(async (payload) => {
      await options.pipeline.whenReady();
      await new Promise<void>((resolve, reject) => options.pipeline.submit({ topic: undefined, payload }, (error) => (error ? reject(error) : resolve())));
    });
    const outcomes = await Promise.allSettled(stored);
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) {
      logger.error({ err: failed.reason }, 'http ingest: readings not stored');
      return send(response, 503, { error: 'unavailable', message: 'the stream did not take the readings; retry' });
    }
    send(response, 202, { accepted: items.length });
  }

  const server = http.createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error({ err: error }, 'http ingest: request failed');
      if (!response.headersSent) send(response, 500, { error: 'internal', message: 'internal error' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${address.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
