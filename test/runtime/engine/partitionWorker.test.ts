import fc from 'fast-check';
import { PartitionWorker, recordPayloadBytes } from '../../../runtime/engine/partitionWorker';
import type { PartitionWorkerOptions } from '../../../runtime/engine/partitionWorker';
import type { BatchVerdict } from '../../../runtime/engine/batchProcessor';
import type { PartitionReader, ReadResult, StreamRecord } from '../../../streams/streamClient';

// An in-memory partition standing in for a stream: the worker's contract is the PartitionReader
// interface, which the real adapters pass through test/conformance.
class ListReader implements PartitionReader {
  readonly partition = 'p0';
  private next = 0;
  constructor(private readonly records: StreamRecord[], private readonly closed = true, private readonly chunk = 7) {}
  async read(options?: { maxRecords?: number }): Promise<ReadResult> {
    await new Promise((resolve) => setImmediate(resolve));
    const take = Math.min(options?.maxRecords ?? 1000, this.chunk);
    const records = this.records.slice(this.next, this.next + take);
    this.next += records.length;
    return { records, endOfPartition: this.closed && this.next >= this.records.length };
  }
  async close(): Promise<void> {}
}

function makeRecords(count: number, keys: number, valueBytes = 10): StreamRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    stream: 's', partition: 'p0', position: String(1000 + i), key: `key-${i % keys}`, value: Buffer.alloc(valueBytes, i % 256), headers: {}, timestamp: 0, arrivalTime: Date.now(),
  }));
}

function options(reader: PartitionReader, overrides: Partial<PartitionWorkerOptions>): PartitionWorkerOptions {
  return {
    reader, parallelization: 1, batchSize: 10, batchingWindowMs: 0, accepts: () => true,
    policy: { maximumRetryAttempts: -1, maximumRecordAgeInSeconds: -1, bisectBatchOnFunctionError: false, retryDelayMs: () => 0 },
    invoke: async () => ({ kind: 'success' }), dispatchFailure: async () => undefined, checkpoint: async () => undefined,
    pollIntervalMs: 0, readWaitMs: 0, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)), ...overrides,
  };
}

describe('partition worker', () => {
  it('delivers every record once, in order, in batches of at most BatchSize, then checkpoints the last and ends', async () => {
    const records = makeRecords(95, 3);
    const batches: string[][] = [];
    const checkpoints: string[] = [];
    let ended = false;
    const worker = new PartitionWorker(options(new ListReader(records), {
      batchSize: 10,
      invoke: async (batch) => { batches.push(batch.map((r) => r.position)); return { kind: 'success' }; },
      checkpoint: async (position) => { checkpoints.push(position); },
      endOfPartition: async () => { ended = true; },
    }));
    expect(await worker.run()).toBe('ended');
    expect(batches.flat()).toEqual(records.map((r) => r.position));
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(10);
    expect(checkpoints[checkpoints.length - 1]).toBe('1094');
    expect(ended).toBe(true);
  });

  it('checkpoints past records FilterCriteria rejects without sending them', async () => {
    const records = makeRecords(20, 1);
    const sent: string[] = [];
    const checkpoints: string[] = [];
    const worker = new PartitionWorker(options(new ListReader(records), {
      accepts: (record) => Number(record.position) % 2 === 0,
      invoke: async (batch) => { sent.push(...batch.map((r) => r.position)); return { kind: 'success' }; },
      checkpoint: async (position) => { checkpoints.push(position); },
    }));
    await worker.run();
    expect(sent).toEqual(records.filter((r) => Number(r.position) % 2 === 0).map((r) => r.position));
    expect(checkpoints[checkpoints.length - 1]).toBe('1019');
  });

  it('keeps a batch under the 6 MB invocation payload cap', async () => {
    const records = makeRecords(12, 1, 900 * 1024);
    const sizes: number[] = [];
    const worker = new PartitionWorker(options(new ListReader(records), {
      batchSize: 100,
      invoke: async (batch) => { sizes.push(batch.reduce((sum, r) => sum + recordPayloadBytes(r), 0)); return { kind: 'success' }; },
    }));
    await worker.run();
    expect(sizes.length).toBeGreaterThan(1);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(6 * 1024 * 1024);
  });

  it('with ParallelizationFactor > 1 keeps per-key order and never checkpoints past an unfinished record', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 120 }), fc.array(fc.nat(5), { minLength: 1, maxLength: 50 }),
      async (lanes, keys, count, delays) => {
        const records = makeRecords(count, keys);
        const done = new Set<string>();
        const seenPerKey = new Map<string, number>();
        let violation = '';
        let call = 0;
        const worker = new PartitionWorker(options(new ListReader(records), {
          parallelization: lanes, batchSize: 5,
          invoke: async (batch): Promise<BatchVerdict> => {
            await new Promise((resolve) => setTimeout(resolve, delays[call++ % delays.length]));
            for (const record of batch) {
              const position = Number(record.position);
              if ((seenPerKey.get(record.key) ?? -1) > position) violation = `key ${record.key} out of order`;
              seenPerKey.set(record.key, position);
              done.add(record.position);
            }
            return { kind: 'success' };
          },
          checkpoint: async (position) => {
            for (const record of records) {
              if (Number(record.position) > Number(position)) break;
              if (!done.has(record.position)) violation = `checkpoint ${position} passed unfinished ${record.position}`;
            }
          },
        }));
        await worker.run();
        expect(violation).toBe('');
        expect(done.size).toBe(count);
      }), { numRuns: 25 });
  });

  it('drains on stop: the batch in flight finishes and is checkpointed, nothing new starts', async () => {
    const records = makeRecords(50, 1);
    const checkpoints: string[] = [];
    const batches: string[][] = [];
    const worker: PartitionWorker = new PartitionWorker(options(new ListReader(records, false), {
      batchSize: 10,
      invoke: async (batch) => {
        batches.push(batch.map((r) => r.position));
        if (batches.length === 2) worker.stop();
        await new Promise((resolve) => setTimeout(resolve, 20));
        return { kind: 'success' };
      },
      checkpoint: async (position) => { checkpoints.push(position); },
    }));
    expect(await worker.run()).toBe('stopped');
    expect(batches).toHaveLength(2);
    expect(checkpoints[checkpoints.length - 1]).toBe(batches[1]?.[batches[1].length - 1]);
  });

  it('stops with the error when a checkpoint is refused (ownership lost) and checkpoints nothing after', async () => {
    const records = makeRecords(40, 1);
    const checkpoints: string[] = [];
    const worker = new PartitionWorker(options(new ListReader(records, false), {
      batchSize: 10,
      checkpoint: async (position) => {
        if (checkpoints.length === 1) throw new Error('lease lost');
        checkpoints.push(position);
      },
    }));
    await expect(worker.run()).rejects.toThrow('lease lost');
    expect(checkpoints).toHaveLength(1);
  });
});

describe('partition worker with tumbling windows', () => {
  it('never mixes windows in a batch and closes each window before the next one starts, and at the end', async () => {
    const size = 60_000;
    const base = Math.floor(Date.now() / size) * size - 10 * size;
    const records = makeRecords(30, 2).map((record, i) => ({ ...record, arrivalTime: base + Math.floor(i / 10) * size + i }));
    const events: string[] = [];
    const worker = new PartitionWorker(options(new ListReader(records), {
      batchSize: 4,
      invoke: async (batch) => {
        const windows = new Set(batch.map((r) => Math.floor(r.arrivalTime / size) * size));
        expect(windows.size).toBe(1);
        events.push(`batch ${[...windows][0]! - base} ${batch.length}`);
        return { kind: 'success' };
      },
      window: { sizeMs: size, closeWindow: async (start) => { events.push(`close ${start - base}`); } },
    }));
    expect(await worker.run()).toBe('ended');
    const closes = events.filter((e) => e.startsWith('close'));
    expect(closes).toEqual(['close 0', `close ${size}`, `close ${2 * size}`]);
    // every batch of window w comes before the close of w, and after the close of w - 1
    for (const [index, event] of events.entries()) {
      if (!event.startsWith('batch')) continue;
      const w = Number(event.split(' ')[1]);
      expect(events.indexOf(`close ${w}`)).toBeGreaterThan(index);
      if (w > 0) expect(events.indexOf(`close ${w - size}`)).toBeLessThan(index);
    }
    expect(events.filter((e) => e.startsWith('batch')).reduce((n, e) => n + Number(e.split(' ')[2]), 0)).toBe(30);
  });

  it('closes a window by wall-clock time when its shard goes quiet', async () => {
    const size = 200;
    const now = Date.now();
    const records = makeRecords(3, 1).map((record) => ({ ...record, arrivalTime: now }));
    const closes: number[] = [];
    const worker = new PartitionWorker(options(new ListReader(records, false), {
      window: { sizeMs: size, closeWindow: async (start) => { closes.push(start); worker.stop(); } },
      readWaitMs: 20,
    }));
    expect(await worker.run()).toBe('stopped');
    expect(closes).toEqual([Math.floor(now / size) * size]);
  });
});
