/**
 * The dashboard's JSON API: reads go to the sources, actions (ack, clear, replay) are POSTs
 * with a JSON body. Bad input gets a 400 naming the parameter; an unknown id a 404; a source
 * that fails a 500 or 503 with its message. Nothing a request sends can crash the server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError, errorMessage, isSluiceError } from '../../core/errors';
import { DashboardNotFoundError } from './dashboardSources';
import type { DashboardSources } from './dashboardSources';
import type { SnapshotFeed } from './snapshotFeed';

/** An error whose HTTP status the handler chose. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

const MAX_BODY_BYTES = 64 * 1024;
const MAX_LIMIT = 5000;
/** The widest window query: a day of windows per metric is already thousands of points. */
const MAX_RANGE_MS = 7 * 24 * 3_600_000;

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

export function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  if (error instanceof DashboardNotFoundError) return 404;
  if (error instanceof ConfigError) return 400;
  if (isSluiceError(error, 'OPERATION_INVALID')) return 409;
  if (isSluiceError(error) && error.retriable) return 503;
  return 500;
}

async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new HttpError(400, `request body is not JSON: ${errorMessage(error)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new HttpError(400, 'request body must be a JSON object');
  return parsed as Record<string, unknown>;
}

export function integerParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const text = url.searchParams.get(name);
  if (text === null || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new HttpError(400, `${name} must be an integer in ${min}..${max}, got "${text}"`);
  return value;
}

function stringField(body: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const value = body[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value === '' || value.length > 1024) throw new HttpError(400, `body.${name} must be a non-empty string of at most 1024 characters`);
  return value;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `malformed path segment "${segment}"`);
  }
}

export interface ApiContext {
  sources: DashboardSources;
  feed: SnapshotFeed;
}

type Route = (context: ApiContext, url: URL, request: IncomingMessage, match: RegExpExecArray) => Promise<unknown>;

const ROUTES: ReadonlyArray<{ method: 'GET' | 'POST'; path: RegExp; run: Route }> = [
  { method: 'GET', path: /^\/api\/snapshot$/, run: ({ feed }) => feed.current() },
  { method: 'GET', path: /^\/api\/history$/, run: async ({ feed }) => feed.rateHistory() },
  { method: 'GET', path: /^\/api\/pipeline$/, run: ({ sources }) => sources.pipeline() },
  { method: 'GET', path: /^\/api\/devices$/, run: ({ sources }, url) => sources.devices(integerParam(url, 'limit', 500, 1, MAX_LIMIT)) },
  {
    method: 'GET',
    path: /^\/api\/devices\/([^/]+)\/latest$/,
    run: async ({ sources }, _url, _request, match) => {
      const deviceId = decodeSegment(match[1] ?? '');
      const latest = await sources.latest(deviceId);
      if (!latest) throw new DashboardNotFoundError(`no readings of device "${deviceId}"`);
      return latest;
    },
  },
  {
    method: 'GET',
    path: /^\/api\/devices\/([^/]+)\/windows$/,
    run: ({ sources }, url, _request, match) => {
      const now = Date.now();
      const to = integerParam(url, 'to', now, 0, Number.MAX_SAFE_INTEGER);
      const from = integerParam(url, 'from', to - 15 * 60_000, 0, Number.MAX_SAFE_INTEGER);
      if (from > to) throw new HttpError(400, `from (${from}) is after to (${to})`);
      if (to - from > MAX_RANGE_MS) throw new HttpError(400, `from..to spans more than ${MAX_RANGE_MS / 3_600_000} hours`);
      return sources.windows(decodeSegment(match[1] ?? ''), from, to);
    },
  },
  { method: 'GET', path: /^\/api\/alerts$/, run: ({ sources }) => sources.alerts() },
  {
    method: 'POST',
    path: /^\/api\/alerts\/([^/]+)\/(ack|clear)$/,
    run: async ({ sources, feed }, _url, request, match) => {
      const body = await readJsonBody(request);
      const by = stringField(body, 'by', false) ?? 'dashboard';
      const alertId = decodeSegment(match[1] ?? '');
      const alert = match[2] === 'ack' ? await sources.ackAlert(alertId, by) : await sources.clearAlert(alertId, by);
      void feed.tick(true); // watchers see the new state now, not on the next tick
      return alert;
    },
  },
  { method: 'GET', path: /^\/api\/dead-letters$/, run: ({ sources }, url) => sources.deadLetters(integerParam(url, 'limit', 100, 0, MAX_LIMIT)) },
  {
    method: 'POST',
    path: /^\/api\/dead-letters\/replay$/,
    run: async ({ sources }, _url, request) => {
      const body = await readJsonBody(request);
      return sources.replayDeadLetter(stringField(body, 'id', true) as string);
    },
  },
];

/** Answers an /api/ request other than the event stream; true when a route took it. */
export async function handleApiRequest(context: ApiContext, request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean> {
  const candidates = ROUTES.map((route) => ({ route, match: route.path.exec(url.pathname) })).filter((entry) => entry.match !== null);
  if (candidates.length === 0) return false;
  const chosen = candidates.find((entry) => entry.route.method === request.method);
  if (!chosen?.match) {
    response.setHeader('allow', candidates.map((entry) => entry.route.method).join(', '));
    sendJson(response, 405, { error: `${request.method ?? '?'} is not allowed on ${url.pathname}` });
    return true;
  }
  try {
    sendJson(response, 200, await chosen.route.run(context, url, request, chosen.match));
  } catch (error) {
    sendJson(response, statusOf(error), { error: errorMessage(error), ...(isSluiceError(error) ? { code: error.code } : {}) });
  }
  return true;
}
