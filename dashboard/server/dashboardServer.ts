/**
 * The dashboard's HTTP server: the page (built in memory at start), the JSON API and a
 * Server-Sent Events stream (`/api/events`) that pushes a snapshot every tick. Binds to
 * 127.0.0.1 unless told otherwise; on any other address it requires a token (given, from
 * $SLUICE_DASHBOARD_TOKEN via the CLI, or generated here and returned in `url`).
 *
 * SSE rather than WebSocket: the feed only flows one way, EventSource reconnects by itself,
 * and it needs no library on either side.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { ConfigError, SluiceError, errorMessage } from '../../core/errors';
import { silentLogger } from '../../core/logger';
import { checkAccess, isLoopbackHost, resolveToken } from './accessPolicy';
import type { AccessPolicy } from './accessPolicy';
import { handleApiRequest, sendJson } from './dashboardApi';
import type { DashboardSources } from './dashboardSources';
import { pageBundle } from './pageBundle';
import type { PageBundle } from './pageBundle';
import { SnapshotFeed } from './snapshotFeed';
import type { DashboardSnapshot } from './snapshotFeed';

export interface DashboardOptions {
  sources: DashboardSources;
  /** default 127.0.0.1 */
  host?: string;
  /** default 0: any free port */
  port?: number;
  /** required on a non-loopback host: generated when not given */
  token?: string;
  /** default 1000 */
  intervalMs?: number;
  logger?: Logger;
}

export interface RunningDashboard {
  /** where to open it, with `?token=` when a token is required */
  url: string;
  host: string;
  port: number;
  token: string | undefined;
  /** stops the server, the feed and the sources */
  close(): Promise<void>;
}

/** The port `sluice dashboard` (and `sluice up`, unless told otherwise) serves on. */
export const DEFAULT_DASHBOARD_PORT = 8321;

/** SSE comment lines keep proxies and idle timeouts from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1'; // reachable from this machine; other machines use its address
  return host.includes(':') ? `[${host}]` : host;
}

function serveEvents(feed: SnapshotFeed, request: http.IncomingMessage, response: http.ServerResponse): void {
  response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  response.write('retry: 2000\n\n');
  const send = (snapshot: DashboardSnapshot): void => {
    response.write(`event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
  };
  const unsubscribe = feed.subscribe(send);
  const heartbeat = setInterval(() => response.write(': heartbeat\n\n'), HEARTBEAT_MS);
  const end = (): void => {
    clearInterval(heartbeat);
    unsubscribe();
  };
  request.on('close', end);
  response.on('error', end);
}

function serveStatic(bundle: PageBundle, pathname: string, response: http.ServerResponse): boolean {
  const files: Record<string, [string, string]> = {
    '/': ['text/html; charset=utf-8', bundle.html],
    '/index.html': ['text/html; charset=utf-8', bundle.html],
    '/app.js': ['text/javascript; charset=utf-8', bundle.js],
    '/app.css': ['text/css; charset=utf-8', bundle.css],
  };
  const file = files[pathname];
  if (!file) return false;
  response.writeHead(200, {
    'content-type': file[0],
    'cache-control': 'no-cache',
    // the page loads only its own script and style and talks only to this server
    'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  response.end(file[1]);
  return true;
}

export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('dashboard.port', `must be an integer in 0..65535, got ${String(port)}`);
  const policy: AccessPolicy = { token: resolveToken(host, options.token), boundHost: host };
  const logger = options.logger ?? silentLogger;
  const bundle = await pageBundle();
  const feed = new SnapshotFeed({ sources: options.sources, intervalMs: options.intervalMs ?? 1000, historyLength: 300, deviceLimit: 500 });
  const context = { sources: options.sources, feed };

  const server = http.createServer((request, response) => {
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://dashboard.invalid');
    } catch {
      sendJson(response, 400, { error: 'malformed request URL' });
      return;
    }
    if (!url.pathname.startsWith('/api/')) {
      if (request.method !== 'GET' && request.method !== 'HEAD') sendJson(response, 405, { error: 'the page is GET only' });
      else if (!serveStatic(bundle, url.pathname, response)) sendJson(response, 404, { error: `no ${url.pathname} here` });
      return;
    }
    const access = checkAccess(policy, request, url);
    if (!access.allowed) {
      sendJson(response, access.status, { error: access.reason });
      return;
    }
    if (url.pathname === '/api/events' && request.method === 'GET') {
      serveEvents(feed, request, response);
      return;
    }
    handleApiRequest(context, request, response, url).then(
      (handled) => {
        if (!handled) sendJson(response, 404, { error: `no API route ${url.pathname}` });
      },
      (error: unknown) => {
        logger.error({ err: errorMessage(error), path: url.pathname }, 'dashboard request failed');
        if (!response.headersSent) sendJson(response, 500, { error: errorMessage(error) });
        else response.destroy();
      },
    );
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: unknown) => {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE') throw new SluiceError('PORT_IN_USE', `dashboard: ${host}:${port} is already in use; pick another with --dashboard-port / --port`);
    throw new SluiceError('CONNECTION_FAILED', `dashboard: cannot listen on ${host}:${port}: ${errorMessage(error)}`, { cause: error, retriable: false });
  });
  feed.start();
  const bound = (server.address() as AddressInfo).port;
  const base = `http://${urlHost(host)}:${bound}/`;
  const url = policy.token === undefined ? base : `${base}?token=${encodeURIComponent(policy.token)}`;
  logger.info({ url: base, exposed: !isLoopbackHost(host) }, 'dashboard listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    host,
    port: bound,
    token: policy.token,
    close: () => {
      closing ??= (async () => {
        await feed.stop();
        server.closeAllConnections(); // SSE streams never end by themselves
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await options.sources.close();
      })();
      return closing;
    },
  };
}
