/**
 * Plans one partition's batch: which windows each reading goes into, which readings are late,
 * what the batch's partial aggregates are (pre-aggregated here, so Redis gets one update per
 * window per batch, not one per reading), how device sessions merge, and the new watermark.
 * Pure: the store reads the state it needs first, the batch script applies the plan atomically
 * and refuses it if that state changed in between (then the handler plans again).
 *
 * Semantics (processors/aggregate/README.md has the full story):
 * - The watermark of a partition is the largest event time of the readings it counted so far.
 *   Reading i is judged against W_i, the watermark before it (a running maximum over the
 *   partition's sequence, so batch boundaries never change a decision).
 * - A window closes at closeAt = end + grace: for a device window, when W_i >= closeAt (event
 *   time) or now >= closeAt (wall clock); for a site window, whose devices live in many
 *   partitions, only on the wall clock; any window marked closed in Redis is closed.
 * - A reading goes into every window of it that is still open; one that missed any window is
 *   late and goes to the late stream, naming what it missed. Session windows (per device):
 *   the reading's own interval [t, t + gap) must not be closed, nor any session it would join.
 * - (deviceId, seq) counts once: repeats within the batch, and readings the store found
 *   already counted (`knowledge.seen`), are duplicates and change nothing.
 */
import type { AggregateScope, EnrichedReading, WindowKind } from '../../schemas/records';
import type { AggregateKeys } from './aggregateKeys';
import type { WindowSettings } from './aggregateSettings';
import type { MetricStats } from './metricStats';
import { foldValue, statsOfValue } from './metricStats';
import { bucketOf } from './percentileSketch';
import type { SessionInfo } from './sessionWindows';
import { placeInSession } from './sessionWindows';
import type { WindowSpec } from './windowSpecs';
import { windowsContaining } from './windowSpecs';

export interface ReadingInput {
  reading: EnrichedReading;
  position: string;
  /** the record's bytes, for the late stream */
  original: Buffer;
}

export interface SessionIndexSnapshot {
  version: number;
  sessions: SessionInfo[];
}

export interface ScopeSnapshot {
  /** the partition's last applied position (null: none yet) */
  applied: string | null;
  watermark: number | null;
  /** device session indexes by key, for the devices of the batch */
  sessions: Map<string, SessionIndexSnapshot>;
}

/** What earlier refusals of the batch script taught (it only grows: closed stays closed, counted stays counted). */
export interface PlanKnowledge {
  closedWindows: Set<string>;
  seenReadings: Set<string>;
}

export interface MetricPartial {
  stats: MetricStats;
  buckets: Map<string, number>;
}

export interface WindowPartial {
  key: string;
  scope: AggregateScope;
  scopeId: string;
  kind: WindowKind;
  spec: string;
  start: number;
  end: number;
  closeAt: number;
  /** device windows: the partition's watermark may close it */
  byWatermark: boolean;
  session?: { indexKey: string; id: string; gapMs: number };
  /**
   * The batch's partial aggregates of this window, by metric. Windows that took the very same
   * readings (most hopping windows of a batch do) share one Map: the store sends it once.
   */
  metrics: Map<string, MetricPartial>;
}

/** A reading a window took: its values with their sketch buckets, computed once for all its windows. */
interface Contribution {
  eventTime: number;
  seq: number;
  values: Array<[metric: string, value: number, bucket: string]>;
}

export interface SessionIndexChange {
  indexKey: string;
  deviceId: string;
  expectedVersion: number;
  /** sessions whose bounds are new or changed */
  put: SessionInfo[];
  /** stored sessions absorbed by another: their window merges into `into`'s and leaves the index */
  merges: Array<{ into: string; from: string; fromId: string }>;
  /** closed sessions no reading can reach any more: leave the index (their windows stay queryable) */
  drop: string[];
}

export type LateReason = 'after_grace' | 'event_time_in_future';

export interface LateReading {
  input: ReadingInput;
  reason: LateReason;
  /** the windows (spec labels, device/site) it could not go into */
  missed: string[];
  watermark: number | null;
}

export interface LatestUpdate {
  /** from the device's latest reading (event time, seq) */
  siteId: string;
  deviceType: string;
  time: number;
  seq: number;
  /** metric -> value at (time, seq) */
  metrics: Map<string, { value: number; time: number; seq: number }>;
}

export interface BatchPlan {
  windows: WindowPartial[];
  sessionChanges: SessionIndexChange[];
  /** readings to record as counted (dedupe), late ones included: a repeat of either is a duplicate */
  counted: Array<{ deviceId: string; seq: number; eventTime: number }>;
  late: LateReading[];
  duplicates: number;
  /** readings that went into at least one window */
  aggregated: number;
  watermark: number | null;
  latest: Map<string, LatestUpdate>;
  /** site -> latest event time */
  sites: Map<string, number>;
}

export function readingId(deviceId: string, seq: number): string {
  return `${deviceId}\u0000${seq}`;
}

interface SessionState {
  deviceId: string;
  spec: Extract<WindowSpec, { kind: 'session' }>;
  snapshot: SessionIndexSnapshot;
  /** the sessions as this batch leaves them */
  sessions: SessionInfo[];
  /** ids of the sessions stored in Redis, and their bounds as read */
  stored: Map<string, string>;
  /** absorbed session id -> the session that absorbed it */
  absorbedInto: Map<string, string>;
}

function boundsOf(session: SessionInfo): string {
  return `${session.start},${session.last},${session.closed}`;
}

class Planner {
  private readonly windows = new Map<string, WindowPartial>();
  /** per window key: indexes into `contributions`, in stream order */
  private readonly taken = new Map<string, number[]>();
  private readonly contributions: Contribution[] = [];
  private readonly windowsByScope = new Map<string, Map<number, WindowPartial>>();
  private readonly sessionStates = new Map<string, SessionState>();
  private readonly plan: BatchPlan;
  private watermark: number | null;

  constructor(
    private readonly settings: WindowSettings,
    private readonly keys: AggregateKeys,
    private readonly snapshot: ScopeSnapshot,
    private readonly knowledge: PlanKnowledge,
    private readonly now: number,
  ) {
    this.watermark = snapshot.watermark;
    this.plan = { windows: [], sessionChanges: [], counted: [], late: [], duplicates: 0, aggregated: 0, watermark: null, latest: new Map(), sites: new Map() };
  }

  run(inputs: readonly ReadingInput[]): BatchPlan {
    const inBatch = new Set<string>();
    for (const input of inputs) {
      const { deviceId, seq } = input.reading;
      const id = readingId(deviceId, seq);
      if (inBatch.has(id) || this.knowledge.seenReadings.has(id)) {
        this.plan.duplicates += 1;
        continue;
      }
      inBatch.add(id);
      this.place(input);
    }
    this.finishSessions();
    this.foldPartials();
    this.plan.windows = [...this.windows.values()];
    this.plan.watermark = this.watermark;
    return this.plan;
  }

  /** closed by the clocks: wall clock for every window, the partition's watermark for device windows */
  private isPastClose(closeAt: number, byWatermark: boolean): boolean {
    return closeAt <= this.now || (byWatermark && this.watermark !== null && closeAt <= this.watermark);
  }

  private isClosed(key: string, closeAt: number, byWatermark: boolean): boolean {
    return this.isPastClose(closeAt, byWatermark) || (this.knowledge.closedWindows.size > 0 && this.knowledge.closedWindows.has(key));
  }

  private place(input: ReadingInput): void {
    const { reading } = input;
    if (reading.eventTime > this.now + this.settings.maxFutureMs) {
      this.plan.late.push({ input, reason: 'event_time_in_future', missed: this.settings.specs.map((spec) => spec.label), watermark: this.watermark });
      return;
    }
    const metrics = Object.entries(reading.metrics);
    const contribution = this.contributions.length;
    this.contributions.push({ eventTime: reading.eventTime, seq: reading.seq, values: metrics.map(([metric, value]) => [metric, value, bucketOf(value, this.settings.relativeAccuracy)]) });
    const missed: string[] = [];
    let accepted = 0;
    for (const spec of this.settings.specs) {
      if (spec.kind === 'session') {
        if (this.placeSession(spec, reading, contribution)) accepted += 1;
        else missed.push(`device ${spec.label}`);
        continue;
      }
      const bounds = windowsContaining(spec, reading.eventTime);
      for (const scope of ['device', 'site'] as const) {
        const scopeId = scope === 'device' ? reading.deviceId : reading.siteId;
        const byStart = this.windowsOf(scope, scopeId, spec.label);
        for (const { start, end } of bounds) {
          const closeAt = end + this.settings.graceMs;
          let window = byStart.get(start);
          const key = window?.key ?? this.keys.window(scope, scopeId, spec.label, start);
          if (this.isClosed(key, closeAt, scope === 'device')) {
            missed.push(`${scope} ${spec.label} [${new Date(start).toISOString()}, ${new Date(end).toISOString()})`);
            continue;
          }
          accepted += 1;
          if (!window) {
            window = { key, scope, scopeId, kind: spec.kind, spec: spec.label, start, end, closeAt, byWatermark: scope === 'device', metrics: new Map() };
            byStart.set(start, window);
            this.windows.set(key, window);
          }
          this.take(key, contribution);
        }
      }
    }
    this.plan.counted.push({ deviceId: reading.deviceId, seq: reading.seq, eventTime: reading.eventTime });
    if (accepted > 0) this.plan.aggregated += 1;
    if (missed.length > 0) this.plan.late.push({ input, reason: 'after_grace', missed, watermark: this.watermark });
    this.noteLatest(reading, metrics);
    // the reading now counts for the watermark of the readings after it
    this.watermark = this.watermark === null ? reading.eventTime : Math.max(this.watermark, reading.eventTime);
  }

  private windowPartial(key: string, meta: Omit<WindowPartial, 'key' | 'metrics'>): WindowPartial {
    let window = this.windows.get(key);
    if (!window) {
      window = { key, ...meta, metrics: new Map() };
      this.windows.set(key, window);
    }
    return window;
  }

  /** The batch's tumbling/hopping windows of one device or site and spec, by start (the hot path: no key strings per reading). */
  private windowsOf(scope: AggregateScope, scopeId: string, spec: string): Map<number, WindowPartial> {
    const id = `${scope}\u0000${scopeId}\u0000${spec}`;
    let byStart = this.windowsByScope.get(id);
    if (!byStart) {
      byStart = new Map();
      this.windowsByScope.set(id, byStart);
    }
    return byStart;
  }

  private take(key: string, contribution: number): void {
    const list = this.taken.get(key);
    if (list) list.push(contribution);
    else this.taken.set(key, [contribution]);
  }

  /** Folds each window's readings into its partials; windows that took the same readings share them. */
  private foldPartials(): void {
    const shared = new Map<string, Map<string, MetricPartial>>();
    for (const [key, list] of this.taken) {
      const window = this.windows.get(key);
      if (!window) continue;
      const signature = list.join(',');
      let metrics = shared.get(signature);
      if (!metrics) {
        metrics = new Map();
        for (const index of list) {
          const contribution = this.contributions[index] as Contribution;
          for (const [metric, value, bucket] of contribution.values) {
            const partial = metrics.get(metric);
            if (!partial) metrics.set(metric, { stats: statsOfValue(value, contribution.eventTime, contribution.seq), buckets: new Map([[bucket, 1]]) });
            else {
              foldValue(partial.stats, value, contribution.eventTime, contribution.seq);
              partial.buckets.set(bucket, (partial.buckets.get(bucket) ?? 0) + 1);
            }
          }
        }
        shared.set(signature, metrics);
      }
      window.metrics = metrics;
    }
  }

  private sessionState(deviceId: string, spec: Extract<WindowSpec, { kind: 'session' }>): SessionState {
    const indexKey = this.keys.sessions(deviceId, spec.label);
    let state = this.sessionStates.get(indexKey);
    if (!state) {
      const snapshot = this.snapshot.sessions.get(indexKey) ?? { version: 0, sessions: [] };
      state = {
        deviceId,
        spec,
        snapshot,
        sessions: snapshot.sessions.map((session) => ({ ...session })),
        stored: new Map(snapshot.sessions.map((session) => [session.id, boundsOf(session)])),
        absorbedInto: new Map(),
      };
      this.sessionStates.set(indexKey, state);
    }
    return state;
  }

  private sessionKey(state: SessionState, id: string): string {
    return this.keys.window('device', state.deviceId, state.spec.label, id);
  }

  /** true when the reading went into its session */
  private placeSession(spec: Extract<WindowSpec, { kind: 'session' }>, reading: EnrichedReading, contribution: number): boolean {
    const { gapMs } = spec;
    const { graceMs } = this.settings;
    const state = this.sessionState(reading.deviceId, spec);
    // the reading's own interval [t, t + gap) must still be open, like any window
    if (this.isPastClose(reading.eventTime + gapMs + graceMs, true)) return false;
    const placement = placeInSession(state.sessions, reading.eventTime, reading.seq, gapMs, (session) => this.isClosed(this.sessionKey(state, session.id), session.last + gapMs + graceMs, true));
    if (placement.outcome === 'closed') return false;
    const survivor = placement.session;
    const window = this.windowPartial(this.sessionKey(state, survivor.id), {
      scope: 'device', scopeId: reading.deviceId, kind: 'session', spec: spec.label, start: survivor.start, end: survivor.last + gapMs,
      closeAt: survivor.last + gapMs + graceMs, byWatermark: true, session: { indexKey: this.keys.sessions(reading.deviceId, spec.label), id: survivor.id, gapMs },
    });
    if (placement.outcome === 'joined') {
      for (const absorbed of placement.absorbed) {
        state.absorbedInto.set(absorbed.id, survivor.id);
        const absorbedKey = this.sessionKey(state, absorbed.id);
        const taken = this.taken.get(absorbedKey);
        if (taken) {
          // keep stream order: the survivor's fold then sees the readings as a single window would
          const own = this.taken.get(window.key) ?? [];
          this.taken.set(window.key, [...own, ...taken].sort((a, b) => a - b));
          this.taken.delete(absorbedKey);
        }
        this.windows.delete(absorbedKey);
      }
    }
    window.start = survivor.start;
    window.end = survivor.last + gapMs;
    window.closeAt = window.end + graceMs;
    this.take(window.key, contribution);
    return true;
  }

  private finishSessions(): void {
    const horizon = Math.max(this.now, this.watermark ?? Number.NEGATIVE_INFINITY);
    for (const [indexKey, state] of this.sessionStates) {
      const finalOf = (id: string): string => {
        let current = id;
        for (let next = state.absorbedInto.get(current); next !== undefined; next = state.absorbedInto.get(current)) current = next;
        return current;
      };
      const merges: SessionIndexChange['merges'] = [];
      for (const id of state.absorbedInto.keys()) {
        if (state.stored.has(id)) merges.push({ into: this.sessionKey(state, finalOf(id)), from: this.sessionKey(state, id), fromId: id });
      }
      const put = state.sessions.filter((session) => state.stored.get(session.id) !== boundsOf(session)).map((session) => ({ ...session }));
      // a closed session that no reading can join any more: any reading within its gap is late by its own interval
      const drop = state.sessions
        .filter((session) => session.closed && state.stored.has(session.id) && session.last + 2 * state.spec.gapMs + this.settings.graceMs <= horizon)
        .map((session) => session.id);
      this.plan.sessionChanges.push({ indexKey, deviceId: state.deviceId, expectedVersion: state.snapshot.version, put, merges, drop });
    }
  }

  private noteLatest(reading: EnrichedReading, metrics: Array<[string, number]>): void {
    const latest = this.plan.latest.get(reading.deviceId);
    const newer = !latest || reading.eventTime > latest.time || (reading.eventTime === latest.time && reading.seq > latest.seq);
    const entry = latest ?? { siteId: reading.siteId, deviceType: reading.deviceType, time: reading.eventTime, seq: reading.seq, metrics: new Map() };
    if (newer) Object.assign(entry, { siteId: reading.siteId, deviceType: reading.deviceType, time: reading.eventTime, seq: reading.seq });
    for (const [metric, value] of metrics) {
      const known = entry.metrics.get(metric);
      if (!known || reading.eventTime > known.time || (reading.eventTime === known.time && reading.seq > known.seq)) {
        entry.metrics.set(metric, { value, time: reading.eventTime, seq: reading.seq });
      }
    }
    this.plan.latest.set(reading.deviceId, entry);
    this.plan.sites.set(reading.siteId, Math.max(this.plan.sites.get(reading.siteId) ?? Number.NEGATIVE_INFINITY, reading.eventTime));
  }
}

/** Plans a partition's batch (readings in stream order, all above the applied position). */
export function planBatch(inputs: readonly ReadingInput[], context: { settings: WindowSettings; keys: AggregateKeys; snapshot: ScopeSnapshot; knowledge: PlanKnowledge; now: number }): BatchPlan {
  return new Planner(context.settings, context.keys, context.snapshot, context.knowledge, context.now).run(inputs);
}
