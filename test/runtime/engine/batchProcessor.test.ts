import { processBatch } from '../../../runtime/engine/batchProcessor';
import type { BatchPolicy, BatchVerdict, FailedBatch } from '../../../runtime/engine/batchProcessor';
import type { StreamRecord } from '../../../streams/streamClient';

// The handler is the user's code, not what is under test here: a scripted stand-in plays it.
function records(count: number, arrivalTime = 1_000_000): StreamRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    stream: 's', partition: 'shardId-000000000000', position: String(100 + i), key: `k${i}`,
    value: Buffer.from(`r${i}`), headers: {}, timestamp: arrivalTime, arrivalTime,
  }));
}

const policy = (overrides: Partial<BatchPolicy> = {}): BatchPolicy => ({
  maximumRetryAttempts: -1, maximumRecordAgeInSeconds: -1, bisectBatchOnFunctionError: false, retryDelayMs: () => 0, ...overrides,
});

function harness(script: (batch: StreamRecord[], call: number) => BatchVerdict, now = 1_000_000) {
  const invocations: string[][] = [];
  const failures: FailedBatch[] = [];
  const progress: string[] = [];
  const deps = {
    invoke: async (batch: StreamRecord[]) => {
      invocations.push(batch.map((r) => r.position));
      return script(batch, invocations.length);
    },
    dispatchFailure: async (failure: FailedBatch) => { failures.push(failure); },
    progress: (record: StreamRecord) => { progress.push(record.position); },
    now: () => now,
    sleep: async () => undefined,
  };
  return { deps, invocations, failures, progress };
}

describe('batch processor (ESM failure semantics)', () => {
  it('checkpoints the whole batch after one successful invocation', async () => {
    const h = harness(() => ({ kind: 'success' }));
    await processBatch(records(3), policy(), h.deps);
    expect(h.invocations).toEqual([['100', '101', '102']]);
    expect(h.progress).toEqual(['102']);
    expect(h.failures).toEqual([]);
  });

  it('retries a failing batch until it succeeds when retries are unlimited', async () => {
    const h = harness((_, call) => (call < 4 ? { kind: 'failed', reason: 'boom' } : { kind: 'success' }));
    const result = await processBatch(records(2), policy(), h.deps);
    expect(h.invocations).toHaveLength(4);
    expect(result.retries).toBe(3);
    expect(h.progress).toEqual(['101']);
  });

  it('sends the batch to the failure destination after MaximumRetryAttempts retries, with invoke count 1 + retries', async () => {
    const h = harness(() => ({ kind: 'failed', reason: 'boom' }));
    await processBatch(records(3), policy({ maximumRetryAttempts: 2 }), h.deps);
    expect(h.invocations).toHaveLength(3);
    expect(h.failures).toHaveLength(1);
    expect(h.failures[0]).toMatchObject({ condition: 'RetryAttemptsExhausted', invokeCount: 3, functionError: 'Unhandled', lastReason: 'boom' });
    expect(h.failures[0]?.records.map((r) => r.position)).toEqual(['100', '101', '102']);
    expect(h.progress).toEqual(['102']);
  });

  it('checkpoints at the lowest failed record and retries from it on a partial batch response (ESM.md example)', async () => {
    // BatchSize 3, the 3rd record of the batch keeps failing, MaximumRetryAttempts 3
    const h = harness((batch) => {
      const failedAt = batch.findIndex((r) => r.position === '102');
      return failedAt >= 0 ? { kind: 'partial', firstFailedIndex: failedAt } : { kind: 'success' };
    });
    await processBatch(records(3), policy({ maximumRetryAttempts: 3 }), h.deps);
    expect(h.invocations).toEqual([['100', '101', '102'], ['102'], ['102'], ['102']]);
    expect(h.progress).toEqual(['101', '102']);
    expect(h.failures).toHaveLength(1);
    expect(h.failures[0]).toMatchObject({ invokeCount: 4, functionError: null, condition: 'RetryAttemptsExhausted' });
    expect(h.failures[0]?.records.map((r) => r.position)).toEqual(['102']);
  });

  it('bisects a failing batch to isolate the bad record, keeping the others', async () => {
    const h = harness((batch) => (batch.some((r) => r.position === '105') ? { kind: 'failed', reason: 'bad record' } : { kind: 'success' }));
    await processBatch(records(8), policy({ bisectBatchOnFunctionError: true, maximumRetryAttempts: 3 }), h.deps);
    expect(h.invocations[0]).toHaveLength(8);
    expect(h.invocations[1]).toEqual(['100', '101', '102', '103']);
    expect(h.invocations[2]).toEqual(['104', '105', '106', '107']);
    expect(h.failures).toHaveLength(1);
    expect(h.failures[0]?.records.map((r) => r.position)).toEqual(['105']);
    // every good record was delivered successfully exactly once in a successful invocation
    const succeeded = h.invocations.filter((batch) => !batch.includes('105')).flat();
    expect(succeeded.sort()).toEqual(['100', '101', '102', '103', '104', '106', '107']);
    expect(h.progress[h.progress.length - 1]).toBe('107');
    // progress never goes backwards
    expect(h.progress.map(Number)).toEqual([...h.progress.map(Number)].sort((a, b) => a - b));
  });

  it('does not deliver records older than MaximumRecordAgeInSeconds; fresh records behind them go on', async () => {
    const now = 10_000_000;
    const old = records(2, now - 120_000);
    const fresh = records(2, now - 1_000).map((r, i) => ({ ...r, position: String(200 + i) }));
    const h = harness(() => ({ kind: 'success' }), now);
    await processBatch([...old, ...fresh], policy({ maximumRecordAgeInSeconds: 60 }), h.deps);
    expect(h.failures).toHaveLength(1);
    expect(h.failures[0]).toMatchObject({ condition: 'RecordAgeExceeded', invokeCount: 1, functionError: undefined });
    expect(h.failures[0]?.records.map((r) => r.position)).toEqual(['100', '101']);
    expect(h.invocations).toEqual([['200', '201']]);
    expect(h.progress[h.progress.length - 1]).toBe('201');
  });

  it('stops between invocations when aborted, without reporting progress past what succeeded', async () => {
    const controller = new AbortController();
    const h = harness(() => {
      controller.abort(new Error('lease lost'));
      return { kind: 'failed', reason: 'boom' };
    });
    await expect(processBatch(records(2), policy(), h.deps, controller.signal)).rejects.toThrow('lease lost');
    expect(h.progress).toEqual([]);
  });
});
