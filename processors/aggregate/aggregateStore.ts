/**
 * The aggregate's Redis I/O: reads the state a batch plan depends on (in one MULTI, so it is
 * one consistent snapshot), applies a plan with the batch script under the runtime's
 * exactly-once guard, closes windows on the wall clock, and claims and acknowledges outbox
 * entries. The layout is in aggregateKeys.ts; the scripts in lua/.
 */
import { SluiceError } from '../../core/errors';
import { applyOnceWith } from '../../runtime/exactlyOnce/guardedScript';
import type { GuardedOutcome } from '../../runtime/exactlyOnce/guardedScript';
import type { RedisConnection } from '../../runtime/redis/scriptLoader';
import type { AggregateKeys } from './aggregateKeys';
import { SEEN_BUCKET_MS } from './aggregateKeys';
import type { OutboxTarget } from './aggregateKeys';
import { applyBatchScript, runPlainScript } from './aggregateScripts';
import type { BatchPlan, ScopeSnapshot, SessionIndexSnapshot } from './batchPlanner';
import { statsToArray } from './metricStats';
import { packSession, unpackSession } from './sessionWindows';
import type { SessionInfo } from './sessionWindows';
import type { WindowView } from './windowView';
import { parseWindow } from './windowView';

/** A late or dead-letter record for the outbox; its payload is the encoded record (outboxRecords.ts). */
export interface OutboxRecord {
  target: Exclude<OutboxTarget, 'aggregates'>;
  id: string;
  payload: string;
}

export interface ApplyRequest {
  scope: string;
  /** the batch's last position */
  position: string;
  /** the applied position the plan's snapshot was read at */
  expectedLast: string | null;
  plan: BatchPlan;
  outbox: OutboxRecord[];
  deadLetters: number;
  now: number;
  retentionMs: number;
  relativeAccuracy: number;
  /** how long after its event time a reading can still change a window (longest window or gap + grace) */
  reachMs: number;
}

export interface Refusal {
  seen: Array<[string, number]>;
  closed: string[];
  sessions: string[];
}

export type ApplyResult = { outcome: 'applied'; closed: number } | { outcome: 'refused'; refusal: Refusal } | { outcome: 'duplicate' } | { outcome: 'moved'; last: string | null };

/** Extra time a dedupe set outlives the last window its readings could reach: covers clock skew between workers and Redis. */
const SEEN_MARGIN_MS = 60_000;

function parseSessionIndex(hash: Record<string, string>): SessionIndexSnapshot {
  const sessions: SessionInfo[] = [];
  for (const [field, value] of Object.entries(hash)) {
    if (field === 'v') continue;
    const session = unpackSession(field, value);
    if (session) sessions.push(session);
  }
  return { version: Number(hash.v ?? 0), sessions };
}

class KeyTable {
  readonly keys: string[] = [];
  private readonly index = new Map<string, number>();

  ref(key: string): number {
    let at = this.index.get(key);
    if (at === undefined) {
      this.keys.push(key);
      at = this.keys.length; // Lua's tables are 1-based
      this.index.set(key, at);
    }
    return at;
  }
}

export class AggregateStore {
  constructor(
    readonly redis: RedisConnection,
    readonly keys: AggregateKeys,
  ) {}

  /** The partition's applied position, watermark, and the session indexes of `sessionIndexKeys`, atomically. */
  async readSnapshot(scope: string, sessionIndexKeys: readonly string[]): Promise<ScopeSnapshot> {
    const multi = this.redis.multi();
    multi.get(this.keys.runtime.exactlyOnceApplied(scope));
    multi.hget(this.keys.scopeState(scope), 'watermark');
    for (const key of sessionIndexKeys) multi.hgetall(key);
    const replies = (await multi.exec()) ?? [];
    const values = replies.map(([error, value]) => {
      if (error) throw error;
      return value;
    });
    const [applied, watermark, ...indexes] = values as [string | null, string | null, ...Array<Record<string, string>>];
    const sessions = new Map<string, SessionIndexSnapshot>();
    sessionIndexKeys.forEach((key, i) => sessions.set(key, parseSessionIndex(indexes[i] ?? {})));
    return { applied, watermark: watermark === null ? null : Number(watermark), sessions };
  }

  async applyPlan(request: ApplyRequest): Promise<ApplyResult> {
    const { keys, args } = this.encode(request);
    const outcome: GuardedOutcome = await applyOnceWith(this.redis, applyBatchScript(), { scope: request.scope, position: request.position, expectedLast: request.expectedLast, keys, args }, this.keys.runtime);
    switch (outcome.outcome) {
      case 'applied':
        return { outcome: 'applied', closed: (JSON.parse(String(outcome.reply)) as { closed: number }).closed };
      case 'refused': {
        const reply = JSON.parse(String(outcome.reply)) as { seen: unknown; closed: unknown; sessions: unknown };
        // cjson encodes an empty table as {}
        const list = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);
        return { outcome: 'refused', refusal: { seen: list<[string, number]>(reply.seen).map(([device, seq]) => [device, Number(seq)]), closed: list<string>(reply.closed), sessions: list<string>(reply.sessions) } };
      }
      case 'duplicate':
        return { outcome: 'duplicate' };
      case 'moved':
        return { outcome: 'moved', last: outcome.last };
    }
  }

  private encode(request: ApplyRequest): { keys: string[]; args: string[] } {
    const { plan, now } = request;
    const table = new KeyTable();
    const k = {
      scope: table.ref(this.keys.scopeState(request.scope)),
      scopeOpen: table.ref(this.keys.scopeOpenWindows(request.scope)),
      open: table.ref(this.keys.openWindows()),
      outbox: table.ref(this.keys.outbox('aggregates')),
      payloads: table.ref(this.keys.outboxPayloads()),
      counters: table.ref(this.keys.counters()),
      devices: table.ref(this.keys.devices()),
      sites: table.ref(this.keys.sites()),
    };
    const seenByKey = new Map<string, { ttl: number; deviceId: string; seqs: string[] }>();
    for (const reading of plan.counted) {
      const bucketStart = Math.floor(reading.eventTime / SEEN_BUCKET_MS) * SEEN_BUCKET_MS;
      const ttl = bucketStart + SEEN_BUCKET_MS + request.reachMs + SEEN_MARGIN_MS - now;
      if (ttl <= 0) continue; // no window can take it any more: a repeat is late anyway
      const key = this.keys.seen(reading.deviceId, reading.eventTime);
      const entry = seenByKey.get(key) ?? { ttl, deviceId: reading.deviceId, seqs: [] };
      entry.seqs.push(String(reading.seq));
      seenByKey.set(key, entry);
    }
    const windowIndexKey = (window: { scope: 'device' | 'site'; scopeId: string }): number => table.ref(this.keys.windowIndex(window.scope, window.scopeId));
    // windows that took the same readings share one partial (one Map): send it once
    const partIndex = new Map<object, number>();
    const parts: unknown[] = [];
    const partOf = (metrics: BatchPlan['windows'][number]['metrics']): number => {
      let at = partIndex.get(metrics);
      if (at === undefined) {
        parts.push([...metrics].map(([metric, partial]) => [metric, statsToArray(partial.stats), [...partial.buckets].flat()]));
        at = parts.length;
        partIndex.set(metrics, at);
      }
      return at;
    };
    const body = {
      now,
      ret: request.retentionMs,
      acc: request.relativeAccuracy,
      wm: plan.watermark,
      k,
      channel: this.keys.updatesChannel(),
      seen: [...seenByKey].map(([key, entry]) => [table.ref(key), entry.ttl, entry.deviceId, entry.seqs]),
      win: plan.windows.map((window) => [
        table.ref(window.key),
        windowIndexKey(window),
        [window.scope, window.scopeId, window.kind, window.spec, window.start, window.end, window.closeAt, window.byWatermark ? 1 : 0,
          window.session ? table.ref(window.session.indexKey) : 0, window.session?.id ?? '', window.session?.gapMs ?? 0],
        partOf(window.metrics),
      ]),
      parts,
      ses: plan.sessionChanges.map((change) => [
        table.ref(change.indexKey),
        change.expectedVersion,
        change.put.map((session) => [session.id, packSession(session)]),
        change.merges.map((merge) => [table.ref(merge.into), table.ref(merge.from), merge.fromId, table.ref(this.keys.windowIndex('device', change.deviceId))]),
        change.drop,
      ]),
      latest: [...plan.latest].map(([deviceId, latest]) => [
        table.ref(this.keys.latest(deviceId)), deviceId, latest.siteId, latest.deviceType, latest.time, latest.seq,
        [...latest.metrics].map(([metric, value]) => [metric, value.value, value.time, value.seq]),
      ]),
      sites: [...plan.sites],
      out: request.outbox.map((record) => [table.ref(this.keys.outbox(record.target)), record.id, record.payload]),
      cnt: { readings: plan.aggregated, duplicates: plan.duplicates, late: plan.late.length, deadLetters: request.deadLetters },
    };
    const update = JSON.stringify({ scope: request.scope, devices: [...plan.latest.keys()], sites: [...plan.sites.keys()] });
    return { keys: table.keys, args: [JSON.stringify(body), update] };
  }

  /** Closes up to `limit` windows whose closeAt <= now (call again while `due` equals `limit`). */
  async closeDue(now: number, retentionMs: number, limit: number): Promise<{ due: number; closed: number }> {
    const [due, closed] = (await runPlainScript(this.redis, 'aggregateCloseDue', [this.keys.openWindows(), this.keys.outbox('aggregates'), this.keys.counters()], [now, retentionMs, limit])) as [number, number];
    return { due: Number(due), closed: Number(closed) };
  }

  /** Devices and sites whose latest reading is older than `before` leave the lists (their latest values expired with them). */
  async forgetQuiet(before: number): Promise<void> {
    const multi = this.redis.multi();
    multi.zremrangebyscore(this.keys.devices(), '-inf', `(${before}`);
    multi.zremrangebyscore(this.keys.sites(), '-inf', `(${before}`);
    for (const [error] of (await multi.exec()) ?? []) if (error) throw error;
  }

  /** Outbox entries of `target` due at `now`, each claimed for `leaseMs`. */
  async claimOutbox(target: OutboxTarget, now: number, leaseMs: number, limit: number): Promise<Array<{ id: string; payload: string | null }>> {
    const flat = (await runPlainScript(this.redis, 'aggregateClaimOutbox', [this.keys.outbox(target), this.keys.outboxPayloads()], [now, leaseMs, limit])) as Array<string | null>;
    const entries: Array<{ id: string; payload: string | null }> = [];
    for (let i = 0; i < flat.length; i += 2) entries.push({ id: String(flat[i]), payload: flat[i + 1] ?? null });
    return entries;
  }

  /** Produced: leave the outbox. */
  async ackOutbox(target: OutboxTarget, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const multi = this.redis.multi();
    multi.zrem(this.keys.outbox(target), ...ids);
    multi.hdel(this.keys.outboxPayloads(), ...ids);
    const replies = (await multi.exec()) ?? [];
    for (const [error] of replies) if (error) throw error;
  }

  async readWindow(key: string): Promise<WindowView | undefined> {
    return parseWindow(key, await this.redis.hgetallBuffer(key));
  }

  async readWindows(keys: readonly string[]): Promise<Array<WindowView | undefined>> {
    if (keys.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.hgetallBuffer(key);
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, hash], i) => {
      if (error) throw new SluiceError('CONNECTION_FAILED', `reading window ${keys[i]}: ${error.message}`, { cause: error });
      return parseWindow(keys[i] as string, hash as Record<string, Buffer>);
    });
  }
}
