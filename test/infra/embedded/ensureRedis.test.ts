import { spawn } from 'node:child_process';
import path from 'node:path';
import Redis from 'ioredis';
import { ensureRedis } from '../../../infra/embedded/ensureRedis';
import type { EnsuredRedis } from '../../../infra/embedded/ensureRedis';
import { findListeningPid } from '../../../infra/ports';
import { isProcessAlive } from '../../../infra/processControl';
import { testServers } from '../../support/servers';
import { findFreePort } from '../infraTestSupport';

async function ping(url: string): Promise<string> {
  const redis = new Redis(url, { maxRetriesPerRequest: 0, lazyConnect: true });
  try {
    await redis.connect();
    return await redis.ping();
  } finally {
    redis.disconnect();
  }
}

/** Waits (up to 10 s) for a process to be gone; returns whether it is. */
async function gone(pid: number): Promise<boolean> {
  for (let waited = 0; waited < 10_000 && isProcessAlive(pid); waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  return !isProcessAlive(pid);
}

describe('ensureRedis', () => {
  let redis: EnsuredRedis | undefined;

  afterEach(async () => {
    await redis?.close();
    redis = undefined;
  });

  it('uses the Redis that answers at the URL and spawns nothing', async () => {
    redis = await ensureRedis({ url: testServers.redisUrl });
    expect(redis).toMatchObject({ url: testServers.redisUrl, spawned: false });
    expect(redis.pid).toBeUndefined();
    expect(await ping(redis.url)).toBe('PONG');
    await redis.close();
    expect(await ping(testServers.redisUrl)).toBe('PONG'); // close() left the machine's Redis alone
  });

  it('spawns a private redis-server when nothing answers, which answers PING, and close() leaves no process and a free port', async () => {
    const unused = `redis://127.0.0.1:${await findFreePort()}`;
    redis = await ensureRedis({ url: unused });
    expect(redis.spawned).toBe(true);
    const pid = redis.pid ?? -1;
    expect(isProcessAlive(pid)).toBe(true);
    expect(await ping(redis.url)).toBe('PONG');
    const port = Number(new URL(redis.url).port);
    await redis.close();
    expect(isProcessAlive(pid)).toBe(false);
    // not asserted free: a suite running beside this one may take the freed port at once
    expect(findListeningPid(port)).not.toBe(pid);
  });

  // The owner of the child ends without calling close(): normal exit, a signal nobody handles, SIGKILL.
  it.each([
    ['exits normally', 'exit', undefined],
    ['is terminated by an unhandled SIGTERM', 'wait', 'SIGTERM'],
    ['is killed with SIGKILL', 'wait', 'SIGKILL'],
  ] as const)('leaves no redis-server behind when its owner process %s', async (_how, ending, signal) => {
    const unused = `redis://127.0.0.1:${await findFreePort()}`;
    const script = path.join(__dirname, 'ensureRedisChild.ts');
    const owner = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), script, unused, ending], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    owner.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const ownerExited = new Promise((resolve) => owner.once('exit', resolve));
    const started = await new Promise<{ pid: number; url: string; spawned: boolean }>((resolve, reject) => {
      let stdout = '';
      owner.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('\n')) resolve(JSON.parse(stdout.slice(0, stdout.indexOf('\n'))) as { pid: number; url: string; spawned: boolean });
      });
      owner.once('exit', (code) => reject(new Error(`owner exited with ${String(code)} before starting Redis: ${stderr}`)));
    });
    expect(started.spawned).toBe(true);
    expect(await ping(started.url)).toBe('PONG');
    if (signal !== undefined) owner.kill(signal);
    else owner.stdin.write('exit now\n');
    await ownerExited;
    expect(await gone(started.pid)).toBe(true);
    // The port is not asserted free: suites running beside this one take freed ports at once
    // (findFreePort); what matters is that our redis-server no longer holds it.
    expect(findListeningPid(Number(new URL(started.url).port))).not.toBe(started.pid);
  });
});
