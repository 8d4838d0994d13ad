/**
 * Figures `sluice up` reads from the processors' own state (not from its in-process metrics):
 * the aggregate's counters in Redis, open and raised alerts, the processors' dead letters.
 * What a part does not have (no PostgreSQL, an older layout) stays undefined.
 */
import type Redis from 'ioredis';
import { AggregateKeys } from '../../processors/aggregate/aggregateKeys';
import { AlertKeys } from '../../processors/alerts/alertKeys';

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
  /** alerts raised before this (epoch ms) belong to earlier runs */
  since: number;
}

export async function collectUpFigures(sources: UpFigureSources): Promise<UpFigures> {
  const keys = new AggregateKeys(sources.keyPrefix);
  const counters = await sources.redis.hgetall(keys.counters());
  const count = (name: string): number => Number(counters[name] ?? 0);
  const alertKeys = new AlertKeys(sources.keyPrefix);
  const [openAlerts, activeSince, clearedSince] = await Promise.all([
    sources.redis.zcard(alertKeys.active()),
    sources.redis.zcount(alertKeys.active(), sources.since, '+inf'),
    sources.redis.zcount(alertKeys.cleared(), sources.since, '+inf'),
  ]);
  return {
    openAlerts,
    alertsRaised: activeSince + clearedSince,
    aggregate: { readings: count('readings'), duplicates: count('duplicates'), late: count('late'), deadLetters: count('deadLetters'), closed: count('closed') },
  };
}

/** Counters as this run changed them (open alerts stay as they are: a state, not a count). */
export function sinceStart(now: UpFigures, start: UpFigures): UpFigures {
  const a = now.aggregate;
  const b = start.aggregate;
  return {
    ...now,
    aggregate: { readings: a.readings - b.readings, duplicates: a.duplicates - b.duplicates, late: a.late - b.late, deadLetters: a.deadLetters - b.deadLetters, closed: a.closed - b.closed },
  };
}
