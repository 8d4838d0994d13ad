/**
 * One `redis-server` child of this process, started in the foreground (never daemonized) and
 * tied to this process's life, shared by ensureRedis (a private Redis for `sluice up`) and
 * projectRedis (the chaos suite's Redis with an AOF):
 *
 * - stop() ends it (SIGTERM, SIGKILL after a grace period); kill(signal) sends one signal and
 *   waits for the exit (a crash, or a clean shutdown without the fallback);
 * - a normal exit of this process kills it (an 'exit' listener);
 * - on Linux it is started through `setpriv --pdeathsig KILL`, so the kernel kills it when this
 *   process dies any other way too (an unhandled SIGINT/SIGTERM, a crash, SIGKILL), where no
 *   JavaScript runs. setpriv execs redis-server, so the child's pid is redis-server's own.
 *   Without setpriv (not Linux) only stop() and a normal exit stop it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { SluiceError } from '../../core/errors';
import { sleep } from '../../core/retry';
import { LOOPBACK } from '../ports';
import type { ProbeResult } from '../probes';
import { findExecutable, logTail } from '../processControl';

export interface RedisServerSpec {
  /** the redis-server executable (requireRedisServer) */
  redisServer: string;
  port: number;
  /** everything after `--port N --bind 127.0.0.1` */
  args: readonly string[];
  /** how long it may take to answer PING (an AOF is loaded before it does) */
  startTimeoutMs: number;
  /** how long stop() waits after SIGTERM before SIGKILL */
  stopTimeoutMs: number;
  /** the --logfile given in args, if any: start-up errors quote its last lines */
  logFile?: string;
}

export interface RedisServerProcess {
  readonly url: string;
  readonly port: number;
  readonly pid: number | undefined;
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after stopTimeoutMs; resolves once it exited. Idempotent. */
  stop(): Promise<void>;
  /** Sends `signal` and resolves once it exited (no SIGKILL fallback); TIMEOUT if it is still alive after 10 s. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** redis-server could not bind its port: someone took it between our check and its start. */
export class RedisPortTaken extends Error {
  constructor(
    readonly port: number,
    readonly sluiceError: SluiceError,
  ) {
    super(sluiceError.message);
  }
}

const PROBE_TIMEOUT_MS = 1000;
const PROBE_INTERVAL_MS = 20;
const OUTPUT_LINES_KEPT = 20;
const KILL_WAIT_MS = 10_000;

/** The redis-server executable, or SERVICE_UNAVAILABLE saying what needed it and how to install it. */
export function requireRedisServer(context: string, alternative = ''): string {
  const redisServer = findExecutable('redis-server');
  if (redisServer === undefined) {
    const message = `${context}: redis-server is not installed (not on PATH nor in the sbin directories); install it (Debian: apt-get install redis-server)${alternative}`;
    throw new SluiceError('SERVICE_UNAVAILABLE', message, { retriable: false });
  }
  return redisServer;
}

/**
 * Starts redis-server and resolves once it answers PING - which it only does after loading its
 * AOF or RDB (until then it answers LOADING). Throws RedisPortTaken when the port was taken,
 * SERVICE_UNAVAILABLE when it exits at start, TIMEOUT when it does not answer in time; it
 * never leaves a half-started child behind.
 */
export async function startRedisServer(spec: RedisServerSpec): Promise<RedisServerProcess> {
  const redisArgs = ['--port', String(spec.port), '--bind', LOOPBACK, ...spec.args];
  const setpriv = process.platform === 'linux' ? findExecutable('setpriv') : undefined;
  const [command, args] = setpriv === undefined ? [spec.redisServer, redisArgs] : [setpriv, ['--pdeathsig', 'KILL', spec.redisServer, ...redisArgs]];
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
  const hasExited = (): boolean => exited !== undefined || spawnError !== undefined;
  const url = `redis://${LOOPBACK}:${spec.port}`;
  const stop = stopper(child, exitedPromise, hasExited, spec.stopTimeoutMs);
  const server: RedisServerProcess = {
    url,
    port: spec.port,
    get pid() {
      return hasExited() ? undefined : child.pid;
    },
    hasExited,
    stop,
    kill: async (signal) => {
      if (hasExited()) return;
      child.kill(signal);
      // A ref'd timer: the child is unref'd, so waiting on its exit alone would let a process
      // with nothing else to do end here instead of seeing the exit.
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), KILL_WAIT_MS);
      });
      const late = await Promise.race([exitedPromise.then(() => false), timedOut]);
      clearTimeout(timer);
      if (late) throw new SluiceError('TIMEOUT', `redis-server (pid ${String(child.pid)}) is still alive ${KILL_WAIT_MS} ms after ${signal}`);
    },
  };

  const probe = await waitForPing(spec.port, spec.startTimeoutMs, hasExited);
  if (probe.ok && !hasExited()) return server;

  await stop();
  const tail = [output.join('\n'), spec.logFile === undefined ? '' : logTail(spec.logFile, OUTPUT_LINES_KEPT)].filter((text) => text !== '').join('\n');
  const quoted = tail === '' ? '' : `:\n${tail}`;
  if (spawnError !== undefined) {
    throw new SluiceError('SERVICE_UNAVAILABLE', `cannot start ${command}: ${spawnError.message}`, { cause: spawnError, retriable: false });
  }
  if (exited !== undefined) {
    const how = exited.signal === null ? `exit code ${String(exited.code)}` : `signal ${exited.signal}`;
    const message = `redis-server on port ${spec.port} exited at start (${how})${quoted}`;
    if (/address already in use/i.test(tail)) throw new RedisPortTaken(spec.port, new SluiceError('PORT_IN_USE', message));
    throw new SluiceError('SERVICE_UNAVAILABLE', message, { retriable: false });
  }
  throw new SluiceError('TIMEOUT', `redis-server on port ${spec.port} did not answer PING within ${spec.startTimeoutMs} ms (${probe.detail})${quoted}`);
}

async function waitForPing(port: number, timeoutMs: number, hasExited: () => boolean): Promise<ProbeResult> {
  const deadline = Date.now() + timeoutMs;
  let probe = await pingOnce(port, PROBE_TIMEOUT_MS);
  while (!probe.ok && !hasExited() && Date.now() < deadline) {
    await sleep(PROBE_INTERVAL_MS);
    probe = await pingOnce(port, PROBE_TIMEOUT_MS);
  }
  return probe;
}

/**
 * One PING on a raw socket. Not ioredis (probeRedis): its ready check meets LOADING and waits
 * out Redis's loading estimate (a second at least), where polling tells the moment it is done.
 */
function pingOnce(port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: LOOPBACK, port });
    let reply = '';
    const done = (result: ProbeResult): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({ ok: false, detail: `no answer to PING within ${timeoutMs} ms` }), timeoutMs);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      const end = reply.indexOf('\r\n');
      if (end < 0) return;
      const line = reply.slice(0, end);
      // -LOADING while the AOF loads: not ready yet
      done(line === '+PONG' ? { ok: true, detail: 'PONG' } : { ok: false, detail: `PING answered ${line}` });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => done({ ok: false, detail: error.code ?? error.message }));
    socket.once('close', () => done({ ok: false, detail: 'connection closed before an answer' }));
  });
}

/** stop(): SIGTERM, then SIGKILL after timeoutMs; resolves once the child has exited. */
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
