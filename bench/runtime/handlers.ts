/**
 * Handlers the runtime benchmark runs through MappingRunner (`bench/runtime/handlers.ts#noop`, ...).
 * The runner evaluates this module afresh for every function instance, so module-level state
 * is per instance; the counters live on globalThis, where the benchmark (another copy of this
 * module) reads them.
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import type { KafkaEvent } from '../../runtime/events/kafkaEvent';

export interface BenchProbe {
  records: number;
  batches: number;
  /** when the first batch started, in performance.timeOrigin + performance.now() ms */
  firstBatchAt: number;
  /** when the last batch finished */
  lastBatchAt: number;
  /** invocation latencies (ms, produce to handler start), for the latency handler */
  latenciesMs: number[];
}

const PROBE_KEY = Symbol.for('sluice.bench.runtimeProbe');

/** Wall-clock ms with sub-ms precision, comparable across modules of one process. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The process-wide probe; reset it before each case. */
export function benchProbe(): BenchProbe {
  const holder = globalThis as unknown as Record<symbol, BenchProbe | undefined>;
  let probe = holder[PROBE_KEY];
  if (!probe) {
    probe = { records: 0, batches: 0, firstBatchAt: 0, lastBatchAt: 0, latenciesMs: [] };
    holder[PROBE_KEY] = probe;
  }
  return probe;
}

export function resetBenchProbe(): BenchProbe {
  const probe = benchProbe();
  Object.assign(probe, { records: 0, batches: 0, firstBatchAt: 0, lastBatchAt: 0, latenciesMs: [] });
  return probe;
}

type StreamEvent = KafkaEvent | KinesisStreamEvent;

function recordCount(event: StreamEvent): number {
  if ('Records' in event) return event.Records.length;
  let count = 0;
  for (const records of Object.values(event.records)) count += records.length;
  return count;
}

function countBatch(probe: BenchProbe, records: number, startedAt: number): void {
  if (probe.firstBatchAt === 0) probe.firstBatchAt = startedAt;
  probe.batches += 1;
  probe.records += records;
  probe.lastBatchAt = wallClockMs();
}

/** Does nothing but count: measures what the runtime itself costs per record. */
export function noop(event: StreamEvent): Promise<void> {
  countBatch(benchProbe(), recordCount(event), wallClockMs());
  return Promise.resolve();
}

/** An IO-bound handler: every invocation waits 10 ms (a remote call), nothing else. */
export async function wait10ms(event: StreamEvent): Promise<void> {
  const startedAt = wallClockMs();
  await new Promise((resolve) => setTimeout(resolve, 10));
  countBatch(benchProbe(), recordCount(event), startedAt);
}

/** Records produce-to-handler-start latency; each record's value is `{"producedAt": <wall ms>}`. */
export function latency(event: StreamEvent): Promise<void> {
  const startedAt = wallClockMs();
  const probe = benchProbe();
  const values = 'Records' in event ? event.Records.map((record) => record.kinesis.data) : Object.values(event.records).flat().map((record) => record.value);
  for (const value of values) {
    const { producedAt } = JSON.parse(Buffer.from(value, 'base64').toString()) as { producedAt: number };
    probe.latenciesMs.push(startedAt - producedAt);
  }
  countBatch(probe, values.length, startedAt);
  return Promise.resolve();
}
