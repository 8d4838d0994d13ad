/**
 * The pipeline's Redis ACL user, on the real (shared) Redis: the runtime's own Redis work runs
 * as that user, and what it must not do is refused. The user and its keys are this test's own
 * (unique name and key prefix) and removed afterwards; the default user is never changed.
 *
 * Commands that would hurt the shared server if the ACL were wrong (FLUSHALL, FLUSHDB, SCRIPT
 * FLUSH, SHUTDOWN) are checked with ACL DRYRUN, which answers what would happen without running
 * them; harmless ones (CONFIG GET, KEYS, CLIENT LIST, foreign keys) are really sent.
 */
import fs from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import { applyOnce, lastApplied } from '../../runtime/exactlyOnce/applyOnce';
import { LeaseStore } from '../../runtime/leases/leaseStore';
import { RedisKeys } from '../../runtime/redis/keys';
import { TumblingWindowStore } from '../../runtime/windows/tumblingWindowStore';
import { RedisSchemaStore } from '../../schemas/redisSchemaStore';
import { SchemaRegistry } from '../../schemas/schemaRegistry';
import { registerSluiceSchemas } from '../../schemas/sluiceSchemas';
import { generatePassword } from '../../security/generatedPassword';
import { createRedisPipelineUser, deleteRedisPipelineUser, redisPipelineAclRules } from '../../security/redisPipelineUser';
import { testServers, uniqueName } from '../support/servers';

const repoRoot = path.resolve(__dirname, '../..');
const username = uniqueName('sluice-pipeline');
const password = generatePassword();
const prefix = uniqueName('sluicesec').replace(/[^a-z0-9-]/gi, '');
const keys = new RedisKeys(prefix);

let admin: Redis;
let pipeline: Redis;
let defaultUserBefore: unknown;

async function refusal(command: Promise<unknown>): Promise<string> {
  return command.then(
    () => 'allowed',
    (error: unknown) => (error instanceof Error ? error.message : String(error)),
  );
}

async function dryRun(...command: string[]): Promise<string> {
  return String(await admin.call('ACL', 'DRYRUN', username, ...command));
}

beforeAll(async () => {
  admin = new Redis(testServers.redisUrl, { maxRetriesPerRequest: 2 });
  defaultUserBefore = await admin.call('ACL', 'GETUSER', 'default');
  await createRedisPipelineUser(admin, { username, password, keyPrefix: prefix });
  pipeline = new Redis(testServers.redisUrl, { username, password, maxRetriesPerRequest: 2 });
});

afterAll(async () => {
  await pipeline?.quit();
  if (admin !== undefined) {
    let cursor = '0';
    do {
      const [next, batch] = await admin.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (batch.length > 0) await admin.del(...batch);
    } while (cursor !== '0');
    await deleteRedisPipelineUser(admin, username);
    expect(await admin.call('ACL', 'GETUSER', username)).toBeNull();
    await admin.quit();
  }
});

describe('the pipeline\'s Redis user', () => {
  it('applies a batch exactly once (the runtime\'s Lua script by EVALSHA, EVAL on NOSCRIPT)', async () => {
    const scope = 'fn@telemetry/0';
    const counts = `${prefix}:agg:{${scope}}:counts`;
    const latest = `${prefix}:agg:{${scope}}:latest`;
    const batch = {
      scope,
      position: '41',
      ops: [
        { op: 'hincrby', key: counts, field: 'dev-1', value: 3 },
        { op: 'hmax', key: counts, field: 'max', value: 7 },
        { op: 'zadd', key: latest, field: 'dev-1', value: 1700000000000 },
        { op: 'pexpire', key: counts, value: 60_000 },
      ] as const,
    };
    expect(await applyOnce(pipeline, { ...batch, ops: [...batch.ops] }, keys)).toBe('applied');
    expect(await applyOnce(pipeline, { ...batch, ops: [...batch.ops] }, keys)).toBe('duplicate');
    expect(await lastApplied(pipeline, scope, keys)).toBe('41');
    expect(await pipeline.hgetall(counts)).toEqual({ 'dev-1': '3', max: '7' });
  });

  it('runs Kinesis leases, worker heartbeats and tumbling-window state', async () => {
    const leases = new LeaseStore({ redis: pipeline, keys, leaseGroup: 'fn@stream', leaseDurationMs: 5000 });
    await leases.syncShards([{ id: 'shardId-0', parents: [], closed: false }], { type: 'TRIM_HORIZON' });
    const taken = await leases.takeLease('shardId-0', 'worker-1', null);
    if (!taken.taken) throw new Error(`lease not taken: ${taken.reason}`);
    const renewed = await leases.renewLease('shardId-0', 'worker-1', taken.lease.counter);
    await leases.checkpoint('shardId-0', 'worker-1', renewed.counter, '100');
    expect((await leases.getLease('shardId-0'))?.checkpoint).toBe('100');
    expect((await leases.heartbeat('worker-1', 5000)).liveWorkers).toEqual(['worker-1']);

    const windows = new TumblingWindowStore({ redis: pipeline, keys });
    const minute = { start: 60_000, end: 120_000 };
    await windows.put('fn@stream', 'shardId-0', minute, { count: 2 }, { worker: 'worker-1', counter: renewed.counter });
    expect((await windows.get('fn@stream', 'shardId-0', minute.start))?.state).toEqual({ count: 2 });
  });

  it('keeps a schema registry under the prefix, and publishes and subscribes on the prefix\'s channels', async () => {
    const registry = new SchemaRegistry(new RedisSchemaStore(pipeline, { keyPrefix: `${prefix}:schemas` }));
    const ids = await registerSluiceSchemas(registry);
    expect(Object.values(ids).length).toBeGreaterThan(0);

    const subscriber = new Redis(testServers.redisUrl, { username, password, maxRetriesPerRequest: 2 });
    try {
      const channel = `${prefix}:agg:updates`;
      await subscriber.subscribe(channel);
      const received = new Promise<string>((resolve) => subscriber.once('message', (_channel: string, message: string) => resolve(message)));
      expect(await pipeline.publish(channel, 'batch-1')).toBe(1);
      expect(await received).toBe('batch-1');
      expect(await refusal(pipeline.publish('other:channel', 'x'))).toMatch(/^NOPERM .*channel/);
    } finally {
      await subscriber.quit();
    }
  });

  it('may run every command the pipeline\'s Lua scripts call, on its own keys', async () => {
    // every redis.call('X' ...) in the project's scripts (runtime, processors, schemas), so a new
    // script using a command this user lacks fails here rather than in production
    const sources: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (/\.(lua|ts)$/.test(entry.name)) sources.push(fs.readFileSync(full, 'utf8'));
      }
    };
    for (const dir of ['runtime', 'processors', 'schemas']) walk(path.join(repoRoot, dir));
    const called = new Set<string>();
    for (const source of sources) for (const match of source.matchAll(/redis\.p?call\(\s*['"]([A-Za-z]+)['"]/g)) called.add((match[1] ?? '').toUpperCase());
    expect(called.has('HINCRBY') && called.has('TIME') && called.has('PUBLISH')).toBe(true);
    const verdicts: Record<string, string> = {};
    for (const command of [...called].sort()) {
      const info = (await admin.call('COMMAND', 'INFO', command)) as Array<[string, number] | null>;
      const arity = info[0]?.[1] ?? -1;
      const argumentCount = arity > 0 ? arity - 1 : -arity - 1;
      // every argument a key (or channel) of the user's own: only the command itself is judged
      verdicts[command] = await dryRun(command, ...Array.from({ length: argumentCount }, () => `${prefix}:x`));
    }
    expect(verdicts).toEqual(Object.fromEntries([...called].sort().map((command) => [command, 'OK'])));
    // and what the clients send outside scripts
    for (const command of [['EVALSHA', 'abc', '0'], ['EVAL', 'return 1', '0'], ['SCRIPT', 'LOAD', 'return 1'], ['SCRIPT', 'EXISTS', 'abc'], ['INFO'], ['PING'], ['MULTI'], ['EXEC'], ['SCAN', '0']]) {
      expect([command.join(' '), await dryRun(...command)]).toEqual([command.join(' '), 'OK']);
    }
  });

  it('is refused what could hurt the server or other users\' data', async () => {
    for (const command of [['FLUSHALL'], ['FLUSHDB'], ['SCRIPT', 'FLUSH'], ['SHUTDOWN'], ['CONFIG', 'SET', 'maxmemory', '1'], ['DEBUG', 'SLEEP', '0'], ['SWAPDB', '0', '1'], ['ACL', 'SETUSER', 'default', 'off'], ['FUNCTION', 'FLUSH'], ['FUNCTION', 'DELETE', 'lib'], ['RANDOMKEY']]) {
      expect([command.join(' '), await dryRun(...command)]).toEqual([command.join(' '), expect.stringMatching(/^This user has no permissions to run the '[a-z|]+' command$/)]);
    }
    expect(await refusal(pipeline.call('CONFIG', 'GET', 'maxmemory'))).toMatch(/^NOPERM .*'config\|get' command/);
    expect(await refusal(pipeline.keys('*'))).toMatch(/^NOPERM .*'keys' command/);
    expect(await refusal(pipeline.call('CLIENT', 'LIST'))).toMatch(/^NOPERM .*'client\|list' command/);
    // keys outside the prefix, directly and from inside a script
    expect(await refusal(pipeline.get('sluice:schemas'))).toMatch(/^NOPERM this user has no permissions to access one of the keys/);
    expect(await refusal(pipeline.set(`not-${prefix}:x`, '1'))).toMatch(/^NOPERM this user has no permissions to access one of the keys/);
    expect(await refusal(pipeline.eval("return redis.call('GET', KEYS[1])", 1, 'elsewhere:key'))).toMatch(/^NOPERM this user has no permissions to access one of the keys/);
    // a script is held to the same rules as its caller
    expect(await refusal(pipeline.eval("return redis.call('KEYS', ARGV[1])", 0, `${prefix}:*`))).toMatch(/^ERR The user executing the script can't run this command/);
  });

  it('needs its password, which Redis keeps only as a hash, and leaves the default user as it was', async () => {
    const wrong = new Redis(testServers.redisUrl, { username, password: 'not-it', maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true, disconnectTimeout: 100 });
    // ioredis reports the AUTH refusal as an 'error' event; connect() itself only says "closed"
    const authError = new Promise<string>((resolve) => wrong.once('error', (error: Error) => resolve(error.message)));
    await wrong.connect().catch(() => undefined);
    expect(await authError).toMatch(/^WRONGPASS/);
    wrong.disconnect();
    const described = JSON.stringify(await admin.call('ACL', 'GETUSER', username));
    expect(described.includes(password)).toBe(false);
    expect(redisPipelineAclRules({ password, keyPrefix: prefix }).join(' ').includes(password)).toBe(false);
    expect(await admin.call('ACL', 'GETUSER', 'default')).toEqual(defaultUserBefore);
    await expect(createRedisPipelineUser(admin, { username: 'default', password })).rejects.toThrow('refusing to change the default user');
  });
});
