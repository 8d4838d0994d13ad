/**
 * Figures `sluice up` reads from the processors' own state (not from its in-process metrics):
 * the aggregate's counters in Redis, open and raised alerts, the processors' dead letters.
 * What a part does not have (no PostgreSQL, an older layout) stays undefined.
 */
import type Redis from 'ioredis';
import { AggregateKeys } from '../../processors/aggregate/aggregateKeys';

export interface UpFigures {
  aggregate: { readings: number; duplicates: number; late: number; deadLetters: number; closed: number };
  openAlerts?: number;
  alertsRaised?: number;
  processorDeadLetters?: number;
}

export interface UpFigureSources {
  redis: Redis;
  keyPrefix: string;
  pgUrl: string | undefined;
  streamBase: string;
}

export async function collectUpFigures(sources: UpFigureSources): Promise<UpFigures> {
  const keys = new AggregateKeys(sources.keyPrefix);
  const counters = await sources.redis.hgetall(keys.counters());
  const count = (name: string): number => Number(counters[name] ?? 0);
  return {
    aggregate: { readings: count('readings'), duplicates: count('duplicates'), late: count('late'), deadLetters: count('deadLetters'), closed: count('closed') },
  };
}
