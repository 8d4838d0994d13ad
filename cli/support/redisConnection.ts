/**
 * The CLI's Redis connection: one place that reads --redis-url / SLUICE_REDIS_URL, checks the
 * server answers before anything starts, and says clearly what to do when it does not.
 */
import Redis from 'ioredis';
import { SluiceError, errorMessage } from '../../core/errors';
import { quietConnectionErrors, resilientRedisOptions } from '../../runtime/redis/redisAvailability';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export function redisUrlFrom(flag: string | undefined): string {
  return flag ?? process.env.SLUICE_REDIS_URL ?? DEFAULT_REDIS_URL;
}

export async function connectRedis(url: string): Promise<Redis> {
  // the runner's leases, checkpoints and windows ride out a Redis restart (runtime/redis/redisAvailability.ts)
  const redis = quietConnectionErrors(new Redis(url, resilientRedisOptions({ lazyConnect: true })));
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch (error) {
    redis.disconnect();
    throw new SluiceError('SERVICE_UNAVAILABLE', `Redis at ${url} does not answer (${errorMessage(error)}); start it (sluice infra status says how) or pass --redis-url`);
  }
}
