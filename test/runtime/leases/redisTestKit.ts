/**
 * Redis for the runtime's Redis tests (leases, exactly-once, windows, checkpoints): a real
 * connection to the test server, a key prefix no other test or run uses, and a cleanup that
 * deletes every key under it.
 */
import Redis from 'ioredis';
import { RedisKeys } from '../../../runtime/redis/keys';
import { testServers, uniqueName } from '../../support/servers';

export function connectTestRedis(): Redis {
  return new Redis(testServers.redisUrl, { maxRetriesPerRequest: 2 });
}

export function uniqueKeys(label: string): RedisKeys {
  return new RedisKeys(uniqueName(`sluice-test-${label}`));
}

/** Deletes every key under the prefix (SCAN, never KEYS: the server is shared). */
export async function deleteKeys(redis: Redis, keys: RedisKeys): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', keys.everything(), 'COUNT', 1000);
    cursor = next;
    if (batch.length > 0) deleted += await redis.del(...batch);
  } while (cursor !== '0');
  return deleted;
}

/** Polls `check` until it returns true; fails with `what` if it has not after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000, everyMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
