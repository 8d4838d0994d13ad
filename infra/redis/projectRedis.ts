/**
 * The project's own Redis with an append-only file, for the chaos suite: the machine's Redis
 * keeps nothing on disk, so restarting it loses the pipeline's state; this one is a
 * `redis-server` child of the calling process (dies with it: redisServerProcess.ts) that keeps
 * its AOF in `dir` and can be crashed (SIGKILL) or shut down (SIGTERM) and started again on the
 * same port and dir, where it reloads the AOF before it answers.
 *
 * What each `appendfsync` guarantees (Redis 7: beforeSleep() flushes the AOF buffer before it
 * writes any reply, src/server.c; flushAppendOnlyFile(), src/aof.c):
 *
 * - `always`: every write is write()n AND fsync()ed to the AOF before its reply is sent. An
 *   acknowledged write survives a process crash (SIGKILL) and an OS crash or power loss (as far
 *   as the disk honours fsync). Costs an fsync per event-loop round: a latency floor per command.
 * - `everysec` (default): every write is write()n to the AOF - into the kernel's page cache -
 *   before its reply is sent, and fsync()ed in the background about once a second.
 *   - SIGKILL / process crash: the kernel keeps what was written, so acknowledged writes
 *     survive; the one exception is a disk so slow that the previous background fsync is still
 *     running, when Redis postpones the write() for up to 2 s but still replies - a crash in
 *     that span loses those writes (INFO persistence: aof_delayed_fsync counts postponements
 *     that ran out).
 *   - OS crash / power loss: the page cache is gone; acknowledged writes of about the last
 *     second (up to 2 s on a busy disk) can be lost.
 * - SIGTERM (a clean shutdown) with either setting: Redis writes and fsyncs the AOF before it
 *   exits; nothing acknowledged is lost.
 *
 * A write that was never acknowledged (the crash came before the reply) may or may not be in
 * the AOF either way; a half-written last entry is cut off when the AOF loads. A Lua script's
 * writes reach the AOF as one MULTI/EXEC block, so an exactly-once batch (applyOnce, guarded
 * scripts) comes back whole or not at all. What `everysec` means for sluice after an OS crash:
 * Redis can come back behind Kafka's committed offsets (the commit follows the Redis write),
 * and those effects are never replayed; SIGKILL-only chaos is covered by either setting
 * (test/infra/projectRedis.test.ts checks the SIGKILL claim for both).
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ConfigError, SluiceError } from '../../core/errors';
import { sleep } from '../../core/retry';
import { findFreePort, isPortFree, portInUseError } from '../ports';
import { RedisPortTaken, requireRedisServer, startRedisServer } from './redisServerProcess';
import type { RedisServerProcess } from './redisServerProcess';

export type AppendFsync = 'always' | 'everysec';

export interface ProjectRedisOptions {
  /** default: a free port (infra/ports.ts findFreePort) */
  port?: number;
  /** data dir for the AOF (and redis-server.log), created if missing */
  dir: string;
  /** default 'everysec' */
  appendfsync?: AppendFsync;
}

export interface ProjectRedis {
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  pid(): number | undefined;
  /** stop (SIGKILL: a crash; SIGTERM: a clean shutdown) and start again on the same port and dir; resolves when it answers PING and has loaded the AOF */
  restart(how?: { signal?: 'SIGKILL' | 'SIGTERM'; downMs?: number }): Promise<{ downMs: number }>;
  stop(): Promise<void>;
}

const SERVICE = 'project Redis';
const APPEND_FSYNC: readonly AppendFsync[] = ['always', 'everysec'];
/** A large AOF takes a while to load; Redis answers LOADING until it is done. */
const START_TIMEOUT_MS = 30_000;
/** A clean shutdown fsyncs the AOF; past this, SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;
/** A free port can be taken between findFreePort and redis-server's bind: pick another then. */
const PORT_ATTEMPTS = 3;
export const PROJECT_REDIS_LOG = 'redis-server.log';

function serverArgs(dir: string, appendfsync: AppendFsync): string[] {
  return [
    '--dir', dir,
    '--appendonly', 'yes',
    '--appendfsync', appendfsync,
    // no RDB snapshots: the AOF alone is the state, so what a restart recovers is what the AOF guarantees
    '--save', '',
    '--daemonize', 'no',
    '--logfile', path.join(dir, PROJECT_REDIS_LOG),
  ];
}

export async function startProjectRedis(options: ProjectRedisOptions): Promise<ProjectRedis> {
  const appendfsync = options.appendfsync ?? 'everysec';
  if (!APPEND_FSYNC.includes(appendfsync)) throw new ConfigError('appendfsync', `must be one of ${APPEND_FSYNC.join(', ')}, got ${JSON.stringify(appendfsync)}`);
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port > 0 && options.port < 65536)) {
    throw new ConfigError('port', `must be an integer 1..65535, got ${String(options.port)}`);
  }
  if (typeof options.dir !== 'string' || options.dir === '') throw new ConfigError('dir', 'must be a directory path');
  const dir = path.resolve(options.dir);
  fs.mkdirSync(dir, { recursive: true });
  const redisServer = requireRedisServer(`${SERVICE} in ${dir}`);
  const spawnOn = (port: number): Promise<RedisServerProcess> =>
    startRedisServer({ redisServer, port, args: serverArgs(dir, appendfsync), startTimeoutMs: START_TIMEOUT_MS, stopTimeoutMs: STOP_TIMEOUT_MS, logFile: path.join(dir, PROJECT_REDIS_LOG) });

  let server: RedisServerProcess;
  if (options.port !== undefined) {
    server = await spawnOnFixedPort(options.port, spawnOn);
  } else {
    for (let attempt = 1; ; attempt += 1) {
      try {
        server = await spawnOn(await findFreePort());
        break;
      } catch (error) {
        if (!(error instanceof RedisPortTaken) || attempt >= PORT_ATTEMPTS) throw error instanceof RedisPortTaken ? error.sluiceError : error;
      }
    }
  }
  return new RestartableRedis(server, spawnOn);
}

/** PORT_IN_USE naming who holds the port, before and (a race) during the start. */
async function spawnOnFixedPort(port: number, spawnOn: (port: number) => Promise<RedisServerProcess>): Promise<RedisServerProcess> {
  const taken = { port, purpose: 'Redis' };
  if (!(await isPortFree(port))) throw portInUseError(SERVICE, taken);
  try {
    return await spawnOn(port);
  } catch (error) {
    if (error instanceof RedisPortTaken) throw portInUseError(SERVICE, taken);
    throw error;
  }
}

class RestartableRedis implements ProjectRedis {
  readonly url: string;
  readonly port: number;
  private current: RedisServerProcess | undefined;
  private stopped = false;
  /** restart() and stop() run one at a time, in call order */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    server: RedisServerProcess,
    private readonly spawnOn: (port: number) => Promise<RedisServerProcess>,
  ) {
    this.current = server;
    this.url = server.url;
    this.port = server.port;
  }

  pid(): number | undefined {
    return this.current?.pid;
  }

  restart(how: { signal?: 'SIGKILL' | 'SIGTERM'; downMs?: number } = {}): Promise<{ downMs: number }> {
    const signal = how.signal ?? 'SIGKILL';
    const downMs = how.downMs ?? 0;
    if (signal !== 'SIGKILL' && signal !== 'SIGTERM') return Promise.reject(new ConfigError('restart.signal', `must be SIGKILL or SIGTERM, got ${String(signal)}`));
    if (!(Number.isFinite(downMs) && downMs >= 0)) return Promise.reject(new ConfigError('restart.downMs', `must be a number >= 0, got ${String(downMs)}`));
    return this.inTurn(async () => {
      if (this.stopped) throw new SluiceError('OPERATION_INVALID', `${SERVICE} on port ${this.port} was stopped; start a new one`);
      const began = performance.now();
      const previous = this.current;
      this.current = undefined;
      if (previous !== undefined) {
        if (signal === 'SIGKILL') await previous.kill('SIGKILL');
        else await previous.stop(); // SIGTERM: Redis fsyncs the AOF and exits; SIGKILL only if it hangs
      }
      if (downMs > 0) await sleep(downMs);
      // Someone may have bound the port while Redis was down: say who, rather than start elsewhere.
      this.current = await spawnOnFixedPort(this.port, this.spawnOn);
      return { downMs: Math.round(performance.now() - began) };
    });
  }

  stop(): Promise<void> {
    return this.inTurn(async () => {
      this.stopped = true;
      const previous = this.current;
      this.current = undefined;
      await previous?.stop();
    });
  }

  private inTurn<T>(operation: () => Promise<T>): Promise<T> {
    const next = this.turn.then(operation, operation);
    this.turn = next.catch(() => undefined);
    return next;
  }
}
