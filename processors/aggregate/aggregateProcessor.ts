/**
 * The aggregate processor, independent of where its settings and connections come from
 * (handler.ts builds it from the environment; tests and the bench build it directly).
 *
 * Per partition of a batch: decode, read the partition's state (applied position, watermark,
 * device sessions) in one snapshot, plan the batch in memory (batchPlanner.ts), apply the plan
 * with ONE script call under the runtime's exactly-once guard, then flush the outbox (final
 * aggregates, late readings, dead letters). When the script refuses - a reading was counted at
 * another position, a window closed meanwhile, a session index changed, another writer moved
 * the partition - the processor learns why, plans again and retries.
 */
import type { Logger } from 'pino';
import { SluiceError } from '../../core/errors';
import { silentLogger } from '../../core/logger';
import type { RedisConnection } from '../../runtime/redis/scriptLoader';
import { comparePositions } from '../../runtime/redis/positionOrder';
import type { AvroCodec } from '../../schemas/avroCodec';
import type { ProcessorEvent, ProcessorRecord } from '../shared/streamRecords';
import { recordsByScope, recordsOf } from '../shared/streamRecords';
import type { AggregateKeys } from './aggregateKeys';
import type { WindowSettings } from './aggregateSettings';
import { longestReachMs } from './aggregateSettings';
import type { ApplyResult, OutboxRecord } from './aggregateStore';
import { AggregateStore } from './aggregateStore';
import type { BatchPlan, PlanKnowledge, ReadingInput } from './batchPlanner';
import { planBatch, readingId } from './batchPlanner';
import type { FlushResult, OutboxTargets } from './outboxFlusher';
import { OutboxFlusher } from './outboxFlusher';
import { deadLetterRecord, lateRecord } from './outboxRecords';
import { decodeReading } from './readingDecoder';

export interface AggregateProcessorOptions {
  redis: RedisConnection;
  codec: AvroCodec;
  keys: AggregateKeys;
  settings: WindowSettings;
  targets: OutboxTargets;
  /** wall clock in epoch ms (tests move it) */
  clock?: () => number;
  logger?: Logger;
}

export interface ScopeOutcome {
  scope: string;
  result: ApplyResult['outcome'] | 'nothing-new';
  attempts: number;
  plan?: BatchPlan;
}

/** Refusals are rare (a concurrent close, a duplicate from another position); a batch that keeps being refused is a bug or a fight. */
const MAX_ATTEMPTS = 8;
const CLOSE_LIMIT = 500;

export class AggregateProcessor {
  readonly store: AggregateStore;
  readonly flusher: OutboxFlusher;
  private readonly clock: () => number;
  private readonly logger: Logger;

  constructor(private readonly options: AggregateProcessorOptions) {
    this.store = new AggregateStore(options.redis, options.keys);
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.flusher = new OutboxFlusher(this.store, options.codec, options.targets, options.settings.quantiles, this.logger);
  }

  /** A Lambda invocation: every partition of the event, then the outbox. */
  async processEvent(event: ProcessorEvent, functionName: string): Promise<ScopeOutcome[]> {
    const outcomes: ScopeOutcome[] = [];
    for (const [scope, records] of recordsByScope(recordsOf(event))) {
      outcomes.push(await this.processScope(`${functionName}/${scope}`, records));
    }
    await this.flusher.flush(this.clock());
    return outcomes;
  }

  /** One partition's records, in stream order, as one exactly-once unit. */
  async processScope(scope: string, records: readonly ProcessorRecord[]): Promise<ScopeOutcome> {
    const last = records[records.length - 1];
    if (!last) return { scope, result: 'nothing-new', attempts: 0 };
    const now = this.clock();
    const inputs: ReadingInput[] = [];
    const rejected: Array<{ record: ProcessorRecord; reason: string; message: string }> = [];
    const byPosition = new Map<string, ProcessorRecord>();
    for (const record of records) {
      byPosition.set(record.position, record);
      const decoded = await decodeReading(this.options.codec, record);
      if ('reading' in decoded) inputs.push({ reading: decoded.reading, position: record.position, original: record.data });
      else rejected.push({ record, ...decoded.rejection });
    }
    const deadLetters = await Promise.all(rejected.map((entry) => deadLetterRecord(this.options.codec, scope, entry.record, entry, now)));

    const knowledge: PlanKnowledge = { closedWindows: new Set(), seenReadings: new Set() };
    const sessionIndexKeys = this.sessionIndexKeys(inputs);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      const snapshot = await this.store.readSnapshot(scope, sessionIndexKeys);
      const applied = snapshot.applied;
      if (applied !== null && comparePositions(last.position, applied) <= 0) return { scope, result: 'duplicate', attempts: attempt };
      // a batch that straddles the applied position (retried with other boundaries): only the part above it is new
      const isNew = (position: string): boolean => applied === null || comparePositions(position, applied) > 0;
      const fresh = inputs.filter((input) => isNew(input.position));
      const freshDeadLetters = deadLetters.filter((_, i) => isNew((rejected[i] as { record: ProcessorRecord }).record.position));
      const planNow = this.clock();
      const plan = planBatch(fresh, { settings: this.options.settings, keys: this.options.keys, snapshot, knowledge, now: planNow });
      const lateRecords: OutboxRecord[] = await Promise.all(plan.late.map((late) => lateRecord(this.options.codec, scope, late, byPosition.get(late.input.position) as ProcessorRecord, planNow)));
      const result = await this.store.applyPlan({
        scope, position: last.position, expectedLast: applied, plan, outbox: [...lateRecords, ...freshDeadLetters], deadLetters: freshDeadLetters.length,
        now: planNow, retentionMs: this.options.settings.retentionMs, relativeAccuracy: this.options.settings.relativeAccuracy, reachMs: longestReachMs(this.options.settings),
      });
      if (result.outcome === 'applied' || result.outcome === 'duplicate') return { scope, result: result.outcome, attempts: attempt, plan };
      if (result.outcome === 'refused') {
        for (const [deviceId, seq] of result.refusal.seen) knowledge.seenReadings.add(readingId(deviceId, seq));
        for (const key of result.refusal.closed) knowledge.closedWindows.add(key);
        this.logger.debug({ scope, attempt, refusal: result.refusal }, 'batch refused; planning again');
      } else {
        this.logger.warn({ scope, attempt, last: result.last }, 'another writer applied this partition meanwhile; planning again');
      }
    }
    throw new SluiceError('UNKNOWN', `aggregate ${scope}: the batch ending at ${last.position} was refused ${MAX_ATTEMPTS} times in a row`, { retriable: true });
  }

  /** Closes windows past end + grace on the wall clock, then flushes the outbox (the scheduled handler). */
  async closeWindows(): Promise<{ closed: number } & FlushResult> {
    const now = this.clock();
    let closed = 0;
    for (;;) {
      const round = await this.store.closeDue(now, this.options.settings.retentionMs, CLOSE_LIMIT);
      closed += round.closed;
      if (round.due < CLOSE_LIMIT) break;
    }
    await this.store.forgetQuiet(now - this.options.settings.retentionMs);
    return { closed, ...(await this.flusher.flush(now)) };
  }

  private sessionIndexKeys(inputs: readonly ReadingInput[]): string[] {
    const sessionSpecs = this.options.settings.specs.filter((spec) => spec.kind === 'session');
    if (sessionSpecs.length === 0) return [];
    const devices = new Set(inputs.map((input) => input.reading.deviceId));
    return [...devices].flatMap((deviceId) => sessionSpecs.map((spec) => this.options.keys.sessions(deviceId, spec.label)));
  }
}
