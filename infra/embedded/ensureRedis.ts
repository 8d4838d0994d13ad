/**
 * A Redis for `sluice up`: the one already answering at the given URL (default the machine's,
 * redis://127.0.0.1:6379), or else a private `redis-server` child on a free port, without
 * persistence, that never outlives this process (infra/redis/redisServerProcess.ts: close() stops
 * it with SIGTERM then SIGKILL, a normal exit kills it, and on Linux the kernel kills it when this
 * process dies any other way, through `setpriv --pdeathsig KILL`).
 */
import { LOOPBACK, findFreePort } from '../ports';
import { probeRedis } from '../probes';
import { RedisPortTaken, requireRedisServer, startRedisServer } from '../redis/redisServerProcess';

export const DEFAULT_REDIS_URL = `redis://${LOOPBACK}:6379`;

export interface EnsureRedisOptions {
  /** Where to look for a running Redis first. Default redis://127.0.0.1:6379. */
  url?: string;
  /** How long a spawned redis-server may take to answer PING. Default 10 s. */
  startTimeoutMs?: number;
  /** How long close() waits after SIGTERM before SIGKILL. Default 5 s. */
  stopTimeoutMs?: number;
}

export interface EnsuredRedis {
  url: string;
  /** true when this call started a redis-server child (close() stops it); false when it found one running. */
  spawned: boolean;
  /** The child's pid when spawned. */
  pid?: number;
  /** Stops the child if this call spawned it; nothing otherwise. Idempotent. */
  close(): Promise<void>;
}

const PROBE_TIMEOUT_MS = 1000;
/** Another process can take the free port between our check and redis-server's bind: try again then. */
const PORT_ATTEMPTS = 3;

export async function ensureRedis(options: EnsureRedisOptions = {}): Promise<EnsuredRedis> {
  const url = options.url ?? DEFAULT_REDIS_URL;
  const found = await probeRedis(url, PROBE_TIMEOUT_MS);
  if (found.ok) return { url, spawned: false, close: () => Promise.resolve() };

  const redisServer = requireRedisServer(`no Redis answers at ${url} (${found.detail})`, ' or give the URL of a running Redis');
  for (let attempt = 1; ; attempt += 1) {
    const port = await findFreePort();
    try {
      const server = await startRedisServer({
        redisServer,
        port,
        args: ['--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'],
        startTimeoutMs: options.startTimeoutMs ?? 10_000,
        stopTimeoutMs: options.stopTimeoutMs ?? 5000,
      });
      return { url: server.url, spawned: true, pid: server.pid, close: server.stop };
    } catch (error) {
      if (!(error instanceof RedisPortTaken) || attempt >= PORT_ATTEMPTS) throw error instanceof RedisPortTaken ? error.sluiceError : error;
    }
  }
}
