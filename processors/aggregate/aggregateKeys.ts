/**
 * Every Redis key of the aggregate processor, built in one place (like runtime/redis/keys.ts).
 * Layout, under the key prefix (default `sluice`):
 *
 *   <p>:agg:w:<scope>:<scopeId>:<spec>:<start>     hash: one tumbling/hopping window (meta, per-metric stats, sketch buckets)
 *   <p>:agg:w:device:<deviceId>:<spec>:<sessionId> hash: one session window (spec like session:30s)
 *   <p>:agg:windows:<scope>:<scopeId>             sorted set: the windows of a device or site, open and closed (window key -> end), for queries
 *   <p>:agg:sessions:<deviceId>:<spec>            hash: a device's sessions of one gap (id -> "start,last,status") and `v`, their version
 *   <p>:agg:open                                   sorted set: every open window (key -> closeAt = end + grace), closed on wall-clock time
 *   <p>:agg:open:<exactly-once scope>              sorted set: device windows a partition opened (key -> closeAt), closed by its watermark
 *   <p>:agg:scope:<exactly-once scope>             hash: a partition's watermark and counters (readings, duplicates, late, deadLetters)
 *   <p>:agg:seen:<deviceId>:<minute>               set: seqs of the device's readings counted, by event-time minute (dedupe)
 *   <p>:agg:latest:<deviceId>                      hash: latest value of each metric ("value,time,seq") and the device's site/type
 *   <p>:agg:devices, <p>:agg:sites                 sorted sets: id -> latest event time
 *   <p>:agg:outbox:<target>                        sorted set: records waiting to be produced to aggregates, late or dlq (id -> when to try next)
 *   <p>:agg:outbox:payloads                        hash: the encoded late and dead-letter records waiting
 *   <p>:agg:counters                               hash: totals (readings, duplicates, late, deadLetters, closed)
 *   <p>:agg:updates                                pub/sub channel: one message per applied batch (which devices and sites changed)
 *
 * The exactly-once position of a partition is the runtime's own key (keys.exactlyOnceApplied).
 */
import { RedisKeys } from '../../runtime/redis/keys';
import type { AggregateScope } from '../../schemas/records';

/** Event-time width of one dedupe set: small enough to stay a compact intset, large enough to be few keys. */
export const SEEN_BUCKET_MS = 60_000;

/** Where outbox records go: closed windows' aggregates, late readings, dead letters. */
export const OUTBOX_TARGETS = ['aggregates', 'late', 'dlq'] as const;
export type OutboxTarget = (typeof OUTBOX_TARGETS)[number];

export class AggregateKeys {
  readonly runtime: RedisKeys;
  private readonly base: string;

  constructor(prefix?: string) {
    this.runtime = new RedisKeys(prefix);
    this.base = `${this.runtime.prefix}:agg`;
  }

  window(scope: AggregateScope, scopeId: string, spec: string, startOrSessionId: number | string): string {
    return `${this.windowPrefix(scope, scopeId, spec)}${startOrSessionId}`;
  }

  /** `window(...)` without its last part: planners append starts to it. */
  windowPrefix(scope: AggregateScope, scopeId: string, spec: string): string {
    return `${this.base}:w:${scope}:${scopeId}:${spec}:`;
  }

  windowIndex(scope: AggregateScope, scopeId: string): string {
    return `${this.base}:windows:${scope}:${scopeId}`;
  }

  sessions(deviceId: string, spec: string): string {
    return `${this.base}:sessions:${deviceId}:${spec}`;
  }

  openWindows(): string {
    return `${this.base}:open`;
  }

  scopeOpenWindows(scope: string): string {
    return `${this.base}:open:${scope}`;
  }

  scopeState(scope: string): string {
    return `${this.base}:scope:${scope}`;
  }

  seen(deviceId: string, eventTime: number): string {
    return `${this.base}:seen:${deviceId}:${Math.floor(eventTime / SEEN_BUCKET_MS) * SEEN_BUCKET_MS}`;
  }

  latest(deviceId: string): string {
    return `${this.base}:latest:${deviceId}`;
  }

  devices(): string {
    return `${this.base}:devices`;
  }

  sites(): string {
    return `${this.base}:sites`;
  }

  outbox(target: OutboxTarget): string {
    return `${this.base}:outbox:${target}`;
  }

  outboxPayloads(): string {
    return `${this.base}:outbox:payloads`;
  }

  counters(): string {
    return `${this.base}:counters`;
  }

  updatesChannel(): string {
    return `${this.base}:updates`;
  }

  /** SCAN pattern for everything the aggregate keeps (tests, cleanup). */
  everything(): string {
    return `${this.base.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}:*`;
  }
}
