/**
 * The page's side of the dashboard API. The token (when the server requires one) arrives in the
 * page's own URL (`?token=`) and goes out as a Bearer header on fetches and as `?token=` on the
 * event stream, the one request where a browser cannot set headers.
 */
import type { DashboardSnapshot } from '../server/snapshotTypes';

const token = new URLSearchParams(window.location.search).get('token');

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function api<T>(path: string, init: { method?: 'GET' | 'POST'; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const body: unknown = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = typeof body === 'object' && body !== null && 'error' in body ? String((body as { error: unknown }).error) : response.statusText;
    throw new ApiError(response.status, message);
  }
  return body as T;
}

export interface FeedHandlers {
  snapshot(snapshot: DashboardSnapshot): void;
  connection(state: 'live' | 'reconnecting'): void;
}

/** The SSE feed; EventSource reconnects by itself after the `retry` the server sets. */
export function subscribe(handlers: FeedHandlers): EventSource {
  const source = new EventSource(`api/events${token ? `?token=${encodeURIComponent(token)}` : ''}`);
  source.addEventListener('open', () => handlers.connection('live'));
  source.addEventListener('error', () => handlers.connection('reconnecting'));
  source.addEventListener('snapshot', (event) => handlers.snapshot(JSON.parse((event as MessageEvent<string>).data) as DashboardSnapshot));
  return source;
}
