/**
 * A caller's Lua body under the runtime's exactly-once guard, on the real Redis: it applies
 * once per position, a body that refuses leaves no trace and records no position, a stale
 * expectation is `moved`, and it shares the scope record with applyOnce.
 */
import fc from 'fast-check';
import Redis from 'ioredis';
import { applyOnce } from '../../../runtime/exactlyOnce/applyOnce';
import { applyOnceWith, guardedScript } from '../../../runtime/exactlyOnce/guardedScript';
import { RedisKeys } from '../../../runtime/redis/keys';
import { testServers, uniqueName } from '../../support/servers';

// adds args[1] to the counter keys[1] unless it would pass args[2]; refuses (writing nothing) otherwise
const capped = guardedScript('testCappedAdd', `
local function apply(keys, args)
  local current = tonumber(redis.call('GET', keys[1]) or '0')
  local next = current + tonumber(args[1])
  if next > tonumber(args[2]) then return false, 'cap ' .. args[2] end
  redis.call('SET', keys[1], next)
  return true, tostring(next)
end`);

describe('guarded scripts (exactly-once around a caller\'s Lua)', () => {
  let redis: Redis;
  const keys = new RedisKeys('sluice-test');

  beforeAll(() => {
    redis = new Redis(testServers.redisUrl);
  });

  afterAll(() => {
    redis.disconnect();
  });

  it('applies a position once: a replay at or below the recorded position is a duplicate', async () => {
    const scope = uniqueName('guarded');
    const counter = `sluice-test:${scope}:counter`;
    expect(await applyOnceWith(redis, capped, { scope, position: '5', keys: [counter], args: [3, 100] }, keys)).toEqual({ outcome: 'applied', reply: '3' });
    expect(await applyOnceWith(redis, capped, { scope, position: '5', keys: [counter], args: [3, 100] }, keys)).toEqual({ outcome: 'duplicate', last: '5' });
    expect(await applyOnceWith(redis, capped, { scope, position: '4', keys: [counter], args: [3, 100] }, keys)).toEqual({ outcome: 'duplicate', last: '5' });
    expect(await applyOnceWith(redis, capped, { scope, position: '12', keys: [counter], args: [1, 100] }, keys)).toEqual({ outcome: 'applied', reply: '4' });
    expect(await redis.get(keys.exactlyOnceApplied(scope))).toBe('12');
    await redis.del(counter, keys.exactlyOnceApplied(scope));
  });

  it('records no position when the body refuses, so the next try applies', async () => {
    const scope = uniqueName('guarded');
    const counter = `sluice-test:${scope}:counter`;
    expect(await applyOnceWith(redis, capped, { scope, position: '1', keys: [counter], args: [50, 10] }, keys)).toEqual({ outcome: 'refused', reply: 'cap 10' });
    expect(await redis.exists(counter, keys.exactlyOnceApplied(scope))).toBe(0);
    expect(await applyOnceWith(redis, capped, { scope, position: '1', keys: [counter], args: [5, 10] }, keys)).toEqual({ outcome: 'applied', reply: '5' });
    await redis.del(counter, keys.exactlyOnceApplied(scope));
  });

  it('answers moved when the recorded position is not the one the caller read its state at', async () => {
    const scope = uniqueName('guarded');
    const counter = `sluice-test:${scope}:counter`;
    expect(await applyOnceWith(redis, capped, { scope, position: '7', expectedLast: '3', keys: [counter], args: [1, 10] }, keys)).toEqual({ outcome: 'moved', last: null });
    expect(await applyOnceWith(redis, capped, { scope, position: '7', expectedLast: null, keys: [counter], args: [1, 10] }, keys)).toEqual({ outcome: 'applied', reply: '1' });
    // a zombie that read at null and comes after position 7 was applied: moved (or duplicate at/below 7)
    expect(await applyOnceWith(redis, capped, { scope, position: '9', expectedLast: null, keys: [counter], args: [1, 10] }, keys)).toEqual({ outcome: 'moved', last: '7' });
    expect(await applyOnceWith(redis, capped, { scope, position: '9', expectedLast: '7', keys: [counter], args: [1, 10] }, keys)).toEqual({ outcome: 'applied', reply: '2' });
    await redis.del(counter, keys.exactlyOnceApplied(scope));
  });

  it('shares the scope record with applyOnce: effects of either count once per position', async () => {
    const scope = uniqueName('guarded');
    const counter = `sluice-test:${scope}:counter`;
    await applyOnce(redis, { scope, position: '10', ops: [{ op: 'incrby', key: counter, value: 1 }] }, keys);
    expect(await applyOnceWith(redis, capped, { scope, position: '10', keys: [counter], args: [1, 10] }, keys)).toEqual({ outcome: 'duplicate', last: '10' });
    await redis.del(counter, keys.exactlyOnceApplied(scope));
  });

  it('refuses positions that are not canonical decimals before running anything', async () => {
    await expect(applyOnceWith(redis, capped, { scope: 'x', position: '007', keys: ['k'], args: [1, 1] }, keys)).rejects.toMatchObject({ code: 'POSITION_INVALID' });
    expect(() => guardedScript('not valid!', '')).toThrow(/alphanumeric/);
  });

  it('applies any sequence of deliveries exactly once per position, in any order of retries', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 25 }), async (positions) => {
      const scope = uniqueName('guarded');
      const counter = `sluice-test:${scope}:counter`;
      let highest = 0;
      let applied = 0;
      for (const position of positions) {
        const outcome = await applyOnceWith(redis, capped, { scope, position: String(position), keys: [counter], args: [1, 1000] }, keys);
        if (position > highest) {
          expect(outcome.outcome).toBe('applied');
          highest = position;
          applied += 1;
        } else {
          expect(outcome.outcome).toBe('duplicate');
        }
      }
      expect(Number(await redis.get(counter))).toBe(applied);
      await redis.del(counter, keys.exactlyOnceApplied(scope));
    }), { numRuns: 30 });
  });
});
