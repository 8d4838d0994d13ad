/**
 * A Redis for `sluice up`: the one already answering at the given URL (default the machine's,
 * redis://127.0.0.1:6379), or else a private `redis-server` child on a free port, without
 * persistence, that never outlives this process:
 *
 * - close() stops it (SIGTERM, SIGKILL after a grace period);
 * - a normal exit of this process kills it (an 'exit' listener);
 * - on Linux it is started through `setpriv --pdeathsig KILL`, so the kernel kills it when this
 *   process dies any other way too (an unhandled SIGINT/SIGTERM, a crash, SIGKILL), where no
 *   JavaScript runs. Without setpriv (not Linux) only close() and a normal exit stop it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { SluiceError } from '../../core/errors';
import { sleep } from '../../core/retry';
import { LOOPBACK, findFreePort } from '../ports';
import { probeRedis } from '../probes';
import { findExecutable } from '../processControl';

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
const OUTPUT_LINES_KEPT = 20;
/** Another process can take the free port between our check and redis-server's bind: try again then. */
const PORT_ATTEMPTS = 3;

export async function ensureRedis(options: EnsureRedisOptions = {}): Promise<EnsuredRedis> {
  const url = options.url ?? DEFAULT_REDIS_URL;
  const found = await probeRedis(url, PROBE_TIMEOUT_MS);
  if (found.ok) return { url, spawned: false, close: () => Promise.resolve() };

  const redisServer = findExecutable('redis-server');
  if (redisServer === undefined) {
    throw new SluiceError(
      'SERVICE_UNAVAILABLE',
      `no Redis answers at ${url} (${found.detail}) and redis-server is not installed to start one; install it (Debian: apt-get install redis-server) or give the URL of a running Redis`,
      { retriable: false },
    );
  }
  for (let attempt = 1; ; attempt += 1) {
    const port = await findFreePort();
    try {
      return await startRedisChild(redisServer, port, options);
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt >= PORT_ATTEMPTS) throw error instanceof PortTaken ? error.sluiceError : error;
    }
  }
}

class PortTaken extends Error {
  constructor(readonly sluiceError: SluiceError) {
    super(sluiceError.message);
  }
}

async function startRedisChild(redisServer: string, port: number, options: EnsureRedisOptions): Promise<EnsuredRedis> {
  const redisArgs = ['--port', String(port), '--bind', LOOPBACK, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'];
  const setpriv = process.platform === 'linux' ? findExecutable('setpriv') : undefined;
  const [command, args] = setpriv === undefined ? [redisServer, redisArgs] : [setpriv, ['--pdeathsig', 'KILL', redisServer, ...redisArgs]];
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const keep = (chunk: Buffer): void => {
    output.push(...chunk.toString().split('\n').filter((line) => line.trim() !== ''));
    output.splice(0, Math.max(0, output.length - OUTPUT_LINES_KEPT));
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);
  // The child must not keep this process alive: when this process ends, so does the child.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      process.off('exit', killOnExit);
      resolve();
    });
    child.once('error', (error) => {
      spawnError = error;
      process.off('exit', killOnExit);
      resolve();
    });
  });
  const url = `redis://${LOOPBACK}:${port}`;
  const stop = stopper(child, exitedPromise, () => exited !== undefined || spawnError !== undefined, options.stopTimeoutMs ?? 5000);

  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  let probe = await probeRedis(url, PROBE_TIMEOUT_MS);
  while (!probe.ok && exited === undefined && spawnError === undefined && Date.now() < deadline) {
    await sleep(50);
    probe = await probeRedis(url, PROBE_TIMEOUT_MS);
  }
  if (probe.ok && exited === undefined) return { url, spawned: true, pid: child.pid, close: stop };

  await stop();
  const tail = output.join('\n');
  if (spawnError !== undefined) {
    throw new SluiceError('SERVICE_UNAVAILABLE', `cannot start ${command}: ${spawnError.message}`, { cause: spawnError, retriable: false });
  }
  if (exited !== undefined) {
    const how = exited.signal === null ? `exit code ${String(exited.code)}` : `signal ${exited.signal}`;
    const error = new SluiceError('SERVICE_UNAVAILABLE', `redis-server on port ${port} exited at start (${how})${tail === '' ? '' : `:\n${tail}`}`, { retriable: false });
    if (/address already in use/i.test(tail)) throw new PortTaken(new SluiceError('PORT_IN_USE', error.message));
    throw error;
  }
  throw new SluiceError('TIMEOUT', `redis-server on port ${port} did not answer PING within ${options.startTimeoutMs ?? 10_000} ms (${probe.detail})${tail === '' ? '' : `:\n${tail}`}`);
}

/** close(): SIGTERM, then SIGKILL after timeoutMs; resolves once the child has exited. */
function stopper(child: ChildProcess, exited: Promise<void>, hasExited: () => boolean, timeoutMs: number): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      if (hasExited()) return;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve();
        }, timeoutMs);
      });
      await Promise.race([exited, killed]);
      clearTimeout(timer);
      await exited;
    })();
    return stopping;
  };
}
