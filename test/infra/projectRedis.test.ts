/**
 * The project's own Redis (infra/redis/projectRedis.ts): restarts on the same port and data dir
 * with its AOF, and what each appendfsync setting keeps through a SIGKILL, as its header claims.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import Redis from 'ioredis';
import { isSluiceError } from '../../core/errors';
import { PROJECT_REDIS_LOG, startProjectRedis } from '../../infra/redis/projectRedis';
import type { AppendFsync, ProjectRedis } from '../../infra/redis/projectRedis';
import { isPortFree } from '../../infra/ports';
import { isProcessAlive } from '../../infra/processControl';
import { findFreePort, holdPort } from './infraTestSupport';

const dirs: string[] = [];
const servers: ProjectRedis[] = [];
const clients: Redis[] = [];

function dataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-project-redis-'));
  dirs.push(dir);
  return dir;
}

async function started(options: { appendfsync?: AppendFsync; port?: number; dir?: string } = {}): Promise<ProjectRedis> {
  const redis = await startProjectRedis({ dir: options.dir ?? dataDir(), ...options });
  servers.push(redis);
  return redis;
}

/** A client that rides out the restarts (errors surface through its commands). */
function clientOf(redis: ProjectRedis): Redis {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 20 });
  client.on('error', () => undefined);
  clients.push(client);
  return client;
}

/** A client that does not reconnect: its commands in flight at a restart fail, unacknowledged. */
function oneConnectionClient(redis: ProjectRedis): Redis {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  clients.push(client);
  return client;
}

async function aofBufferBytes(client: Redis): Promise<number> {
  return Number(/aof_buffer_length:(\d+)/.exec(await client.info('persistence'))?.[1] ?? NaN);
}

/** Waits (up to 10 s) for a process to be gone; returns whether it is. */
async function gone(pid: number): Promise<boolean> {
  for (let waited = 0; waited < 10_000 && isProcessAlive(pid); waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  return !isProcessAlive(pid);
}

/** `writers` concurrent INCR loops on `key` until stopped; counts the acknowledged ones. */
function incrStorm(client: Redis, key: string, writers: number): { acked: () => number; stop: () => Promise<void> } {
  let acked = 0;
  let stopping = false;
  const loops = Array.from({ length: writers }, async () => {
    while (!stopping) {
      try {
        await client.incr(key);
        acked += 1;
      } catch {
        return; // the connection broke under it: this one was not acknowledged
      }
    }
  });
  return {
    acked: () => acked,
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await Promise.all(servers.splice(0).map((server) => server.stop()));
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('startProjectRedis', () => {
  it('runs redis-server with the AOF in its data dir and the appendfsync asked for, on 127.0.0.1', async () => {
    const dir = path.join(dataDir(), 'not-yet-there');
    const redis = await started({ dir, appendfsync: 'always' });
    const client = clientOf(redis);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await client.config('GET', 'appendfsync')).toEqual(['appendfsync', 'always']);
    expect(await client.config('GET', 'save')).toEqual(['save', '']);
    expect(await client.config('GET', 'dir')).toEqual(['dir', fs.realpathSync(dir)]);
    expect(await client.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
    expect(fs.existsSync(path.join(dir, 'appendonlydir'))).toBe(true);
    expect(fs.readFileSync(path.join(dir, PROJECT_REDIS_LOG), 'utf8')).toContain('Ready to accept connections');
  });

  it.each<AppendFsync>(['always', 'everysec'])('keeps N keys written with INCR through a SIGKILL and a restart (appendfsync %s)', async (appendfsync) => {
    const redis = await started({ appendfsync });
    const client = clientOf(redis);
    const keys = Array.from({ length: 500 }, (_, i) => `key:${i}`);
    for (const key of keys) await client.incr(key);
    // `always`: acknowledged means fsynced. `everysec`: acknowledged means written to the AOF
    // unless a slow background fsync made Redis hold the write back (the module header): the
    // claim is for writes Redis has written out, i.e. once its AOF buffer is empty.
    if (appendfsync === 'everysec') {
      for (let waited = 0; (await aofBufferBytes(client)) > 0 && waited < 5000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const before = redis.pid() as number;
    const { downMs } = await redis.restart({ signal: 'SIGKILL' });
    expect(await gone(before)).toBe(true);
    expect(redis.pid()).not.toBe(before);
    expect(downMs).toBeGreaterThanOrEqual(0);
    expect(await client.mget(...keys)).toEqual(keys.map(() => '1'));
  });

  it('with appendfsync always, every INCR acknowledged before a SIGKILL in the middle of a write storm survives it', async () => {
    const redis = await started({ appendfsync: 'always' });
    const client = clientOf(redis);
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 20, max: 300 }), fc.integer({ min: 1, max: 8 }), async (killAfterMs, writers) => {
        const key = `storm:${(round += 1)}`;
        const storm = incrStorm(oneConnectionClient(redis), key, writers);
        await new Promise((resolve) => setTimeout(resolve, killAfterMs));
        await redis.restart({ signal: 'SIGKILL' });
        await storm.stop();
        const stored = Number(await client.get(key));
        // at least every acknowledged one; at most one more per writer (sent, run, but not answered)
        expect(stored).toBeGreaterThanOrEqual(storm.acked());
        expect(stored).toBeLessThanOrEqual(storm.acked() + writers);
      }),
      { numRuns: 6 },
    );
  });

  it.each<AppendFsync>(['always', 'everysec'])('keeps every acknowledged write through a clean shutdown (SIGTERM) in the middle of a write storm (appendfsync %s)', async (appendfsync) => {
    const redis = await started({ appendfsync });
    const client = clientOf(redis);
    const storm = incrStorm(oneConnectionClient(redis), 'counter', 4);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await redis.restart({ signal: 'SIGTERM' });
    await storm.stop();
    expect(storm.acked()).toBeGreaterThan(0);
    expect(Number(await client.get('counter'))).toBeGreaterThanOrEqual(storm.acked());
  });

  it('restarts on the same port and data dir, staying down at least downMs', async () => {
    const dir = dataDir();
    const redis = await started({ dir });
    const client = clientOf(redis);
    await client.set('kept', 'yes');
    const pids = [redis.pid()];
    const { downMs } = await redis.restart({ signal: 'SIGTERM', downMs: 400 });
    pids.push(redis.pid());
    expect(downMs).toBeGreaterThanOrEqual(400);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await client.get('kept')).toBe('yes');
    expect(new Set(pids).size).toBe(2);
    expect(fs.readFileSync(path.join(dir, PROJECT_REDIS_LOG), 'utf8').match(/Ready to accept connections/g)).toHaveLength(2);
    await redis.stop();
    expect(redis.pid()).toBeUndefined();
    expect(await isPortFree(redis.port)).toBe(true);
    await expect(redis.restart()).rejects.toMatchObject({ code: 'OPERATION_INVALID' });
  });

  it('refuses a port another process holds with PORT_IN_USE naming it, at start and at a restart', async () => {
    const holder = await holdPort();
    try {
      const error: unknown = await startProjectRedis({ dir: dataDir(), port: holder.port }).catch((e: unknown) => e);
      expect(isSluiceError(error, 'PORT_IN_USE')).toBe(true);
      expect((error as Error).message).toContain(`127.0.0.1:${holder.port}`);
      expect((error as Error).message).toContain(`pid ${process.pid}`);
    } finally {
      await holder.close();
    }

    const redis = await started({ port: await findFreePort() });
    const restarting = redis.restart({ signal: 'SIGKILL', downMs: 1500 });
    while (!(await isPortFree(redis.port))) await new Promise((resolve) => setTimeout(resolve, 20));
    const squatter = await holdPort(redis.port); // someone binds the port while Redis is down
    try {
      await expect(restarting).rejects.toMatchObject({ code: 'PORT_IN_USE' });
      expect(redis.pid()).toBeUndefined();
    } finally {
      await squatter.close();
    }
    await redis.restart(); // the port is free again: it starts
    expect(redis.pid()).toBeDefined();
  });

  it('says redis-server is missing and how to install it', async () => {
    const savedPath = process.env.PATH;
    process.env.PATH = dataDir(); // an empty directory: no redis-server there, nor in the sbin directories
    try {
      await expect(startProjectRedis({ dir: dataDir() })).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: expect.stringContaining('apt-get install redis-server') });
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it('refuses an appendfsync it does not document', async () => {
    await expect(startProjectRedis({ dir: dataDir(), appendfsync: 'no' as AppendFsync })).rejects.toMatchObject({ code: 'CONFIG_INVALID', path: 'appendfsync' });
  });

  it('leaves no redis-server behind when its owner is killed with SIGKILL, after a restart too', async () => {
    const dir = dataDir();
    const owner = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(__dirname, 'projectRedisOwner.ts'), dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    owner.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const ownerExited = new Promise((resolve) => owner.once('exit', resolve));
    const child = await new Promise<{ pid: number; port: number }>((resolve, reject) => {
      let stdout = '';
      owner.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('\n')) resolve(JSON.parse(stdout.slice(0, stdout.indexOf('\n'))) as { pid: number; port: number });
      });
      owner.once('exit', (code) => reject(new Error(`owner exited with ${String(code)} before starting Redis: ${stderr}`)));
    });
    expect(isProcessAlive(child.pid)).toBe(true);
    owner.kill('SIGKILL');
    await ownerExited;
    expect(await gone(child.pid)).toBe(true);
    expect(await isPortFree(child.port)).toBe(true);
  });
});
