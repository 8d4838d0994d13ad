/**
 * One scenario per ESM knob (ESM.md) on the real streams, through the MappingRunner and the
 * scripted handler: the exact records of each invocation, what was checkpointed, and what
 * reached the failure destination. Each scenario runs on every source AWS supports it for.
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import type { KinesisTumblingWindowEvent } from '../../../runtime/events/kinesisEvent';
import { scriptedRegistry } from '../../fixtures/handlers/scriptedHandler';
import { uniqueName } from '../../support/servers';
import type { Kind } from './runnerTestSupport';
import { deliveredValues, eventRecords, pause, RunnerTestBed, sourceAddress, waitFor } from './runnerTestSupport';

type Json = Record<string, unknown>;

const kinds: Kind[] = ['kinesis', 'kafka'];
const values = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i}`);
const inputsOf = (list: string[], key = 'k'): Array<{ key: string; value: Buffer }> => list.map((value) => ({ key, value: Buffer.from(value) }));

/** The failure destination's records, parsed. */
async function failureRecordsIn(bed: RunnerTestBed, dlq: string): Promise<Json[]> {
  return (await bed.readAll(dlq)).map((record) => JSON.parse(record.value.toString()) as Json);
}

async function waitForFailures(bed: RunnerTestBed, dlq: string, count: number): Promise<Json[]> {
  let failures: Json[] = [];
  await waitFor(async () => (failures = await failureRecordsIn(bed, dlq)).length >= count, `${count} failure record(s)`);
  return failures;
}

const field = (record: Json, ...path: string[]): unknown => path.reduce<unknown>((value, key) => (value as Json | undefined)?.[key], record);

/** The data values a Kafka topic failure message carries in its payload (one record per message). */
function kafkaFailedValues(failure: Json): string[] {
  return eventRecords('kafka', failure.payload).map((record) => record.value);
}

describe.each(kinds)('mapping knobs on %s', (kind) => {
  let bed: RunnerTestBed;

  beforeAll(() => {
    bed = new RunnerTestBed(kind);
  });

  afterEach(async () => {
    await bed.stopRunners();
  });

  afterAll(async () => {
    await bed.close();
  });

  it('BisectBatchOnFunctionError isolates the poison record: halves retried, good records succeed once, only the poison record reaches the destination', async () => {
    const stream = await bed.newStream(1);
    const dlq = await bed.newStream(1);
    const functionName = uniqueName('bisect');
    const poison = 'r5';
    scriptedRegistry().scripts.set(functionName, (event) => (eventRecords(kind, event).some((r) => r.value === poison) ? new Error('poison record') : undefined));
    const produced = await bed.client.produce(stream, inputsOf(values('r', 8)));
    await bed.runner({
      FunctionName: functionName, Source: sourceAddress(kind, stream), BatchSize: 8, MaximumBatchingWindowInSeconds: 1,
      BisectBatchOnFunctionError: true, MaximumRetryAttempts: 2, DestinationConfig: { OnFailure: { Destination: sourceAddress(kind, dlq) } },
    }, { destinationStream: dlq }).start();
    await waitFor(async () => (await bed.checkpointOf(functionName, stream)) === BigInt(produced[7]?.position ?? -1), 'checkpoint past r7');
    const failures = await waitForFailures(bed, dlq, 1);

    // AWS: "Splitting a batch does not count towards the retry quota": the batch is halved down
    // to the poison record, which alone is then retried MaximumRetryAttempts times.
    expect(deliveredValues(kind, functionName)).toEqual([
      values('r', 8), ['r0', 'r1', 'r2', 'r3'], ['r4', 'r5', 'r6', 'r7'], ['r4', 'r5'], ['r4'], ['r5'], ['r5'], ['r5'], ['r6', 'r7'],
    ]);
    const succeeded = deliveredValues(kind, functionName).filter((batch) => !batch.includes(poison)).flat();
    expect(succeeded.sort()).toEqual(values('r', 8).filter((value) => value !== poison));
    expect(failures).toHaveLength(1);
    const failure = failures[0] as Json;
    expect(field(failure, 'requestContext', 'condition')).toBe('RetryAttemptsExhausted');
    expect(field(failure, 'requestContext', 'approximateInvokeCount')).toBe(3);
    expect(field(failure, 'responseContext', 'functionError')).toBe('Unhandled');
    if (kind === 'kinesis') {
      expect(field(failure, 'KinesisBatchInfo', 'batchSize')).toBe(1);
      expect(field(failure, 'KinesisBatchInfo', 'startSequenceNumber')).toBe(produced[5]?.position);
      expect(field(failure, 'KinesisBatchInfo', 'endSequenceNumber')).toBe(produced[5]?.position);
    } else {
      expect(kafkaFailedValues(failure)).toEqual([poison]);
    }
  });

  it('MaximumRetryAttempts 1 with a handler that always throws: 2 invocations per batch, an Unhandled failure record, then the next batch', async () => {
    const stream = await bed.newStream(1);
    const dlq = await bed.newStream(1);
    const functionName = uniqueName('retry1');
    scriptedRegistry().scripts.set(functionName, () => new Error('always fails'));
    const produced = await bed.client.produce(stream, inputsOf(values('a', 6)));
    await bed.runner({
      FunctionName: functionName, Source: sourceAddress(kind, stream), BatchSize: 3, MaximumBatchingWindowInSeconds: 1,
      MaximumRetryAttempts: 1, DestinationConfig: { OnFailure: { Destination: sourceAddress(kind, dlq) } },
    }, { destinationStream: dlq }).start();
    await waitFor(async () => (await bed.checkpointOf(functionName, stream)) === BigInt(produced[5]?.position ?? -1), 'checkpoint past a5');
    // Kinesis: one failure record per batch; Kafka topic destination: one message per record.
    const failures = await waitForFailures(bed, dlq, kind === 'kinesis' ? 2 : 6);

    const first = ['a0', 'a1', 'a2'];
    const second = ['a3', 'a4', 'a5'];
    expect(deliveredValues(kind, functionName)).toEqual([first, first, second, second]);
    expect(failures).toHaveLength(kind === 'kinesis' ? 2 : 6);
    for (const failure of failures) {
      expect(field(failure, 'requestContext', 'condition')).toBe('RetryAttemptsExhausted');
      expect(field(failure, 'requestContext', 'approximateInvokeCount')).toBe(2);
      expect(field(failure, 'responseContext')).toEqual({ statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' });
    }
    if (kind === 'kinesis') {
      expect(failures.map((f) => [field(f, 'KinesisBatchInfo', 'startSequenceNumber'), field(f, 'KinesisBatchInfo', 'endSequenceNumber'), field(f, 'KinesisBatchInfo', 'batchSize')])).toEqual([
        [produced[0]?.position, produced[2]?.position, 3], [produced[3]?.position, produced[5]?.position, 3],
      ]);
    } else {
      expect(failures.flatMap(kafkaFailedValues)).toEqual([...first, ...second]);
    }
  });

  it('FilterCriteria: only matching records are delivered, and the checkpoint moves past the last non-matching record', async () => {
    const stream = await bed.newStream(1);
    const functionName = uniqueName('filter');
    const types = ['reading', 'alarm', 'reading', 'reading', 'alarm', 'alarm', 'reading', 'reading'];
    const produced = await bed.client.produce(stream, types.map((type, n) => ({ key: 'k', value: Buffer.from(JSON.stringify({ type, n })) })));
    const pattern = kind === 'kinesis' ? { data: { type: ['alarm'] } } : { value: { type: ['alarm'] } };
    await bed.runner({
      FunctionName: functionName, Source: sourceAddress(kind, stream), BatchSize: 2, FilterCriteria: { Filters: [{ Pattern: JSON.stringify(pattern) }] },
    }).start();
    // the last record does not match: the checkpoint must still get to it
    await waitFor(async () => (await bed.checkpointOf(functionName, stream)) === BigInt(produced[7]?.position ?? -1), 'checkpoint past the last (filtered) record');
    const delivered = deliveredValues(kind, functionName).flat().map((value) => JSON.parse(value) as { type: string; n: number });
    expect(delivered).toEqual([{ type: 'alarm', n: 1 }, { type: 'alarm', n: 4 }, { type: 'alarm', n: 5 }]);
  });

  it('Function.Timeout: an invocation past its timeout counts as failed and the batch is retried; the retry succeeds', async () => {
    const stream = await bed.newStream(1);
    const functionName = uniqueName('timeout');
    scriptedRegistry().scripts.set(functionName, async (_event, call) => {
      if (call === 1) await pause(1500);
      return undefined;
    });
    const produced = await bed.client.produce(stream, inputsOf(values('t', 3)));
    const runner = bed.runner({ FunctionName: functionName, Source: sourceAddress(kind, stream), BatchSize: 10, MaximumBatchingWindowInSeconds: 1, Function: { Timeout: 1 } });
    await runner.start();
    await waitFor(async () => (await bed.checkpointOf(functionName, stream)) === BigInt(produced[2]?.position ?? -1), 'checkpoint past t2');
    expect(deliveredValues(kind, functionName)).toEqual([values('t', 3), values('t', 3)]);
    const errors = (await runner.metrics.errors.get()).values.reduce((sum, sample) => sum + sample.value, 0);
    expect(errors).toBe(1);
  });

  it('Runtime.ExtraLatencyMs (load tests): each invocation starts that much later, and the extra time does not count toward Function.Timeout', async () => {
    const stream = await bed.newStream(1);
    const functionName = uniqueName('extra');
    const invokedAt: number[] = [];
    scriptedRegistry().scripts.set(functionName, async () => {
      invokedAt.push(Date.now());
      return undefined;
    });
    const runner = bed.runner({ FunctionName: functionName, Source: sourceAddress(kind, stream), BatchSize: 10, StartingPosition: 'TRIM_HORIZON', Function: { Timeout: 1 }, Runtime: { ExtraLatencyMs: 1200 } });
    const produced = await bed.client.produce(stream, inputsOf(values('x', 2)));
    const producedAt = Date.now();
    await runner.start();
    await waitFor(async () => (await bed.checkpointOf(functionName, stream)) === BigInt(produced[1]?.position ?? -1), 'checkpoint past x1');
    expect(invokedAt[0]! - producedAt).toBeGreaterThanOrEqual(1200);
    // a 1 s timeout with 1.2 s of extra latency still succeeds: no error, one invocation
    expect(deliveredValues(kind, functionName)).toEqual([values('x', 2)]);
  });

  it('MaximumBatchingWindowInSeconds 1: records produced in 3 small bursts within 300 ms arrive in one invocation', async () => {
    const stream = await bed.newStream(1);
    const functionName = uniqueName('window');
    await bed.runner({ FunctionName: functionName, Source: sourceAddress(kind, stream), BatchSize: 100, MaximumBatchingWindowInSeconds: 1 }).start();
    // let the reader settle on the empty stream (Kafka: the group is joined once start() returns)
    await pause(300);
    for (const burst of [0, 1, 2]) {
      await bed.client.produce(stream, inputsOf(values(`b${burst}-`, 2)));
      if (burst < 2) await pause(150);
    }
    await waitFor(() => deliveredValues(kind, functionName).length > 0, 'an invocation');
    await pause(1500); // nothing else may follow
    expect(deliveredValues(kind, functionName)).toEqual([[...values('b0-', 2), ...values('b1-', 2), ...values('b2-', 2)]]);
  });
});

describe('mapping knobs on kafka only', () => {
  let bed: RunnerTestBed;
  beforeAll(() => {
    bed = new RunnerTestBed('kafka');
  });
  afterAll(async () => {
    await bed.close();
  });

  // Kinesis sets ApproximateArrivalTimestamp itself when a record is put, so a record cannot be
  // made 60 s old without waiting 60 s: this scenario runs on Kafka, whose CREATE_TIME the
  // producer sets (the unit tests of the batch processor cover the rule for both sources).
  it('MaximumRecordAgeInSeconds: old records go to the destination as RecordAgeExceeded without responseContext; fresh ones behind them are delivered', async () => {
    const stream = await bed.newStream(1);
    const dlq = await bed.newStream(1);
    const functionName = uniqueName('age');
    const old = Date.now() - 120_000;
    await bed.client.produce(stream, values('old', 3).map((value) => ({ key: 'k', value: Buffer.from(value), timestamp: old })));
    const produced = await bed.client.produce(stream, inputsOf(values('fresh', 2)));
    await bed.runner({
      FunctionName: functionName, Source: sourceAddress('kafka', stream), BatchSize: 10, MaximumBatchingWindowInSeconds: 1,
      MaximumRecordAgeInSeconds: 60, DestinationConfig: { OnFailure: { Destination: sourceAddress('kafka', dlq) } },
    }, { destinationStream: dlq }).start();
    await waitFor(async () => (await bed.checkpointOf(functionName, stream)) === BigInt(produced[1]?.position ?? -1), 'checkpoint past the fresh records');
    const failures = await waitForFailures(bed, dlq, 3);
    expect(deliveredValues('kafka', functionName)).toEqual([values('fresh', 2)]);
    expect(failures.flatMap(kafkaFailedValues)).toEqual(values('old', 3));
    for (const failure of failures) {
      expect(field(failure, 'requestContext', 'condition')).toBe('RecordAgeExceeded');
      expect(field(failure, 'requestContext', 'approximateInvokeCount')).toBe(1);
      expect(failure).not.toHaveProperty('responseContext');
    }
  });
});

describe('mapping knobs on kinesis only', () => {
  let bed: RunnerTestBed;
  beforeAll(() => {
    bed = new RunnerTestBed('kinesis');
  });
  afterEach(async () => {
    await bed.stopRunners();
  });
  afterAll(async () => {
    await bed.close();
  });

  it('ParallelizationFactor 4: several batches of one shard in flight at once, order kept per partition key, every record once', async () => {
    const stream = await bed.newStream(1);
    const functionName = uniqueName('parallel');
    let inFlight = 0;
    let mostInFlight = 0;
    scriptedRegistry().scripts.set(functionName, async () => {
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await pause(20);
      inFlight -= 1;
      return undefined;
    });
    const inputs = Array.from({ length: 100 }, (_, i) => ({ key: `key-${i % 20}`, value: Buffer.from(`p${i}`) }));
    await bed.client.produce(stream, inputs);
    await bed.runner({ FunctionName: functionName, Source: sourceAddress('kinesis', stream), BatchSize: 5, ParallelizationFactor: 4 }).start();
    await waitFor(() => deliveredValues('kinesis', functionName).flat().length >= 100, '100 records');
    await pause(300);
    const calls = scriptedRegistry().calls.get(functionName) ?? [];
    const seen = calls.flatMap(({ event }) => eventRecords('kinesis', event));
    expect(seen.map((r) => r.value).sort()).toEqual(inputs.map((input) => input.value.toString()).sort());
    expect(mostInFlight).toBeGreaterThan(1);
    const perKey = new Map<string, number[]>();
    for (const record of seen) perKey.set(record.key, [...(perKey.get(record.key) ?? []), Number(record.value.slice(1))]);
    expect(perKey.size).toBe(20);
    for (const order of perKey.values()) expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('TumblingWindowInSeconds 2: state carried between invocations of a window, a final invocation with the total, a response without state retried', async () => {
    const stream = await bed.newStream(1);
    const functionName = uniqueName('tumbling');
    scriptedRegistry().scripts.set(functionName, (event, call) => {
      const windowEvent = event as KinesisTumblingWindowEvent;
      if (windowEvent.isFinalInvokeForWindow) return { state: windowEvent.state };
      if (call === 1) return {}; // no state: the invocation fails and is retried
      const total = Number(windowEvent.state.total ?? 0) + windowEvent.Records.reduce((sum, r) => sum + Number(Buffer.from(r.kinesis.data, 'base64').toString()), 0);
      return { state: { total } };
    });
    // start just after a 2 s boundary, so the records most likely share one window (the
    // assertions below hold per window either way)
    await pause(2000 - (Date.now() % 2000) + 20);
    const numbers = [1, 2, 3, 4, 5, 6];
    await bed.client.produce(stream, numbers.slice(0, 3).map((n) => ({ key: 'k', value: Buffer.from(String(n)) })));
    await bed.client.produce(stream, numbers.slice(3).map((n) => ({ key: 'k', value: Buffer.from(String(n)) })));
    await bed.runner({ FunctionName: functionName, Source: sourceAddress('kinesis', stream), BatchSize: 2, TumblingWindowInSeconds: 2 }).start();
    const events = (): KinesisTumblingWindowEvent[] => (scriptedRegistry().calls.get(functionName) ?? []).map(({ event }) => event as KinesisTumblingWindowEvent);
    const valuesOf = (event: KinesisStreamEvent): number[] => event.Records.map((r) => Number(Buffer.from(r.kinesis.data, 'base64').toString()));
    await waitFor(() => {
      const finals = events().filter((e) => e.isFinalInvokeForWindow);
      const windows = new Set(events().map((e) => e.window.start));
      return finals.length > 0 && finals.length === windows.size;
    }, 'the final invocation of every window', 15_000);

    const all = events();
    // the first invocation answered without state: the same records are sent again with the same (empty) state
    expect(all[0]?.isFinalInvokeForWindow).toBe(false);
    expect(all[1] && valuesOf(all[1])).toEqual(all[0] && valuesOf(all[0]));
    expect(all[1]?.state).toEqual({});
    expect(all[0]?.state).toEqual({});
    const successful = all.slice(1);
    const delivered = successful.filter((e) => !e.isFinalInvokeForWindow).flatMap(valuesOf);
    expect(delivered).toEqual(numbers);
    for (const windowStart of new Set(successful.map((e) => e.window.start))) {
      const ofWindow = successful.filter((e) => e.window.start === windowStart);
      const final = ofWindow[ofWindow.length - 1] as KinesisTumblingWindowEvent;
      expect(ofWindow.filter((e) => e.isFinalInvokeForWindow)).toEqual([final]);
      expect(final.Records).toEqual([]);
      expect(final.isWindowTerminatedEarly).toBe(false);
      // each invocation carries what the previous one of its window returned
      let running = 0;
      for (const event of ofWindow.slice(0, -1)) {
        expect(event.state).toEqual(running === 0 ? {} : { total: running });
        running += valuesOf(event).reduce((sum, n) => sum + n, 0);
      }
      expect(final.state).toEqual({ total: running });
    }
    expect(successful.filter((e) => e.isFinalInvokeForWindow).reduce((sum, e) => sum + Number(e.state.total), 0)).toBe(21);
  });
});
