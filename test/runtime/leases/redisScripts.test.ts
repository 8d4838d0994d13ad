import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { isSluiceError } from '../../../core/errors';
import { leaseGroupName, RedisKeys } from '../../../runtime/redis/keys';
import { luaScripts, runScript, SCRIPT_DIR } from '../../../runtime/redis/scriptLoader';
import { connectTestRedis, deleteKeys, uniqueKeys } from './redisTestKit';

/** Redis Cluster hashes only the part inside the first {...} when there is one. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
}

describe('Redis keys and Lua scripts', () => {
  it('puts every key of a mapping under one Cluster hash tag, under the prefix', () => {
    const keys = new RedisKeys('acme');
    const group = leaseGroupName('aggregate', 'telemetry');
    const mappingKeys = [keys.leaseShards(group), keys.lease(group, 'shardId-000000000001'), keys.workers(group), keys.windowIndex(group, 'shardId-000000000001'), keys.window(group, 'shardId-000000000001', 1_700_000_000_000)];
    expect(new Set(mappingKeys.map(hashTag))).toEqual(new Set([group]));
    for (const key of [...mappingKeys, keys.leaseGroups(), keys.exactlyOnceApplied('aggregate/0')]) expect(key.startsWith('acme:')).toBe(true);
    expect(hashTag(keys.exactlyOnceApplied('aggregate/0'))).toBe(hashTag(`totals:${keys.exactlyOnceHashTag('aggregate/0')}:device-1`));
    expect(new RedisKeys().prefix).toBe('sluice');
  });

  it('refuses names that would break the hash tag', () => {
    for (const make of [() => new RedisKeys('a{b'), () => new RedisKeys(''), () => leaseGroupName('fn}', 'stream'), () => new RedisKeys().lease('g', 'shard {1}')]) {
      let error: unknown;
      try {
        make();
      } catch (caught) {
        error = caught;
      }
      expect(isSluiceError(error, 'CONFIG_INVALID')).toBe(true);
    }
  });

  it('names each script name-<numKeys>.lua and lists exactly those KEYS and its ARGV in the header', () => {
    const files = readdirSync(SCRIPT_DIR).filter((file) => file.endsWith('.lua'));
    expect(files.length).toBe(luaScripts().size);
    for (const file of files) {
      const [, name, count] = /^([A-Za-z]+)-(\d+|var)\.lua$/.exec(file) ?? [];
      const header = /^--\[\[([\s\S]*?)\]\]/.exec(readFileSync(path.join(SCRIPT_DIR, file), 'utf8'))?.[1] ?? '';
      const declared = [...header.matchAll(/^\s*KEYS\[(\d+)(\.\.n)?\]/gm)].map((match) => Number(match[1]));
      if (count === 'var') expect({ file, variable: /KEYS\[\d+\.\.n\]/.test(header) }).toEqual({ file, variable: true });
      else expect({ file, keys: declared }).toEqual({ file, keys: Array.from({ length: Number(count) }, (_, i) => i + 1) });
      expect({ file, mentionsArgv: /ARGV\[1\]/.test(header), mentionsReturns: /Returns/.test(header) }).toEqual({ file, mentionsArgv: true, mentionsReturns: true });
      const script = luaScripts().get(name as never);
      expect(script?.lua.includes('@include')).toBe(false);
    }
  });

  it('loads each script into Redis once and runs it by its SHA (EVALSHA)', async () => {
    const redis = connectTestRedis();
    const keys = uniqueKeys('scripts');
    try {
      const heartbeat = luaScripts().get('heartbeat');
      const sha = createHash('sha1').update(heartbeat?.lua ?? '').digest('hex');
      const redisMs = async (): Promise<number> => {
        const [seconds, micros] = await redis.time();
        return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      };
      const before = await redisMs();
      const [now, ...live] = await runScript(redis, 'heartbeat', [keys.workers('g@s')], ['w1', 1000]);
      const after = await redisMs();
      expect(live).toEqual(['w1']);
      expect(Number(now)).toBeGreaterThanOrEqual(before); // the script's clock is Redis's, in ms
      expect(Number(now)).toBeLessThanOrEqual(after);
      expect(await redis.script('EXISTS', sha)).toEqual([1]);
    } finally {
      await deleteKeys(redis, keys);
      redis.disconnect();
    }
  });
});
