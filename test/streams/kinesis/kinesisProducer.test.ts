/**
 * produce() on kinesalite: requests split at 500 records and 5 MiB (PutRecords calls counted
 * with SDK middleware on the real client), per-record limits checked before anything is sent,
 * and retry of only the failed entries of a partial failure.
 */
import { fc, test as propTest } from '@fast-check/jest';
import type { PutRecordsCommandInput } from '@aws-sdk/client-kinesis';
import { isSluiceError } from '../../../core/errors';
import type { SluiceError } from '../../../core/errors';
import { MAX_BYTES_PER_REQUEST, MAX_BYTES_PER_RECORD, MAX_RECORDS_PER_REQUEST, planRequests } from '../../../streams/kinesis/kinesisProducer';
import type { KinesisStreamClient } from '../../../streams/kinesis/kinesisStreamClient';
import type { StreamRecordInput } from '../../../streams/streamClient';
import { injectPartialFailures, kinesisTestClient, readStream, streamTracker, watchCommand } from './kinesisTestSupport';

function records(count: number, valueBytes: number, keys = 8): StreamRecordInput[] {
  return Array.from({ length: count }, (_, index) => {
    const value = Buffer.alloc(valueBytes, 0x61);
    value.write(String(index).padStart(6, '0'));
    return { key: `device-${index % keys}`, value };
  });
}

function requestBytes(input: PutRecordsCommandInput): number {
  return (input.Records ?? []).reduce((sum, entry) => sum + (entry.Data?.length ?? 0) + Buffer.byteLength(entry.PartitionKey ?? ''), 0);
}

async function rejection(promise: Promise<unknown>): Promise<SluiceError> {
  try {
    await promise;
  } catch (error) {
    if (isSluiceError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection, but it resolved');
}

describe('kinesis produce: request limits', () => {
  let client: KinesisStreamClient;
  let puts: PutRecordsCommandInput[];
  const streams = streamTracker(() => client);

  beforeEach(() => {
    client = kinesisTestClient();
    puts = watchCommand<PutRecordsCommandInput>(client, 'PutRecordsCommand');
  });
  afterEach(async () => {
    await streams.cleanup();
    await client.close();
  });

  it('splits 1,001 records into requests of 500, 500 and 1, and returns every position in input order', async () => {
    const stream = await streams.create(2);
    const input = records(1001, 20);
    const produced = await client.produce(stream, input);
    expect(puts.map((request) => request.Records?.length)).toEqual([500, 500, 1]);
    expect(puts.flatMap((request) => request.Records ?? []).map((entry) => Buffer.from(entry.Data ?? []).toString('utf8', 0, 6))).toEqual(input.map((record) => record.value.toString('utf8', 0, 6)));
    const read = await readStream(client, stream, 1001);
    const byPlace = new Map(read.map((record) => [`${record.partition}/${record.position}`, record.value.toString('utf8', 0, 6)]));
    expect(produced.map((place) => byPlace.get(`${place.partition}/${place.position}`))).toEqual(input.map((record) => record.value.toString('utf8', 0, 6)));
  });

  it('splits at 5 MiB per request, partition keys included', async () => {
    const stream = await streams.create(1);
    const input = records(11, 600 * 1024);
    await client.produce(stream, input);
    // 8 x 600 KiB = 4.7 MiB fits; a 9th would pass 5 MiB
    expect(puts.map((request) => request.Records?.length)).toEqual([8, 3]);
    for (const request of puts) expect(requestBytes(request)).toBeLessThanOrEqual(MAX_BYTES_PER_REQUEST);
    expect((await readStream(client, stream, 11)).map((record) => record.value.length)).toEqual(Array(11).fill(600 * 1024));
  });

  it('takes a record of exactly 1 MiB with its partition key, and refuses one byte more before sending anything', async () => {
    const stream = await streams.create(1);
    const key = 'k'.repeat(10);
    await client.produce(stream, [{ key, value: Buffer.alloc(MAX_BYTES_PER_RECORD - key.length, 1) }]);
    expect(puts).toHaveLength(1);
    const error = await rejection(client.produce(stream, [...records(3, 10), { key, value: Buffer.alloc(MAX_BYTES_PER_RECORD - key.length + 1, 1) }]));
    expect(error.code).toBe('RECORD_TOO_LARGE');
    expect(error.retriable).toBe(false);
    expect(error.message).toContain('record 3');
    expect(puts).toHaveLength(1);
  });

  it('counts the header envelope against the 1 MiB record limit', async () => {
    const stream = await streams.create(1);
    const error = await rejection(client.produce(stream, [{ key: 'k', value: Buffer.alloc(MAX_BYTES_PER_RECORD - 1, 1), headers: { h: Buffer.from('x') } }]));
    expect(error.code).toBe('RECORD_TOO_LARGE');
    expect(puts).toHaveLength(0);
  });

  it.each([
    ['an empty partition key', ''],
    ['a partition key over 256 characters', 'k'.repeat(257)],
  ])('refuses %s with RECORD_INVALID before sending anything', async (_label, key) => {
    const stream = await streams.create(1);
    const error = await rejection(client.produce(stream, [{ key: 'fine', value: Buffer.from('v') }, { key, value: Buffer.from('v') }]));
    expect(error.code).toBe('RECORD_INVALID');
    expect(error.retriable).toBe(false);
    expect(puts).toHaveLength(0);
  });

  it('takes a partition key of exactly 256 characters', async () => {
    const stream = await streams.create(1);
    const key = 'k'.repeat(256);
    await client.produce(stream, [{ key, value: Buffer.from('v') }]);
    expect((await readStream(client, stream, 1)).map((record) => record.key)).toEqual([key]);
  });

  it('sends nothing for an empty batch', async () => {
    const stream = await streams.create(1);
    expect(await client.produce(stream, [])).toEqual([]);
    expect(puts).toHaveLength(0);
  });
});

describe('kinesis produce: request planning', () => {
  const sizes = fc.array(fc.integer({ min: 1, max: MAX_BYTES_PER_RECORD }), { maxLength: 1500 });

  propTest.prop([sizes])('plans consecutive requests covering every record once, within 500 records and 5 MiB each', (recordSizes) => {
    const plan = planRequests(recordSizes);
    let next = 0;
    for (const [start, end] of plan) {
      expect(start).toBe(next);
      expect(end).toBeGreaterThan(start);
      expect(end - start).toBeLessThanOrEqual(MAX_RECORDS_PER_REQUEST);
      expect(recordSizes.slice(start, end).reduce((sum, size) => sum + size, 0)).toBeLessThanOrEqual(MAX_BYTES_PER_REQUEST);
      // a request ends only at a limit: the next record would not have fitted
      if (end < recordSizes.length) {
        const withNext = recordSizes.slice(start, end + 1);
        expect(withNext.length > MAX_RECORDS_PER_REQUEST || withNext.reduce((sum, size) => sum + size, 0) > MAX_BYTES_PER_REQUEST).toBe(true);
      }
      next = end;
    }
    expect(next).toBe(recordSizes.length);
  });
});

/*
 * kinesalite never answers a PutRecords with failed entries (it has no throughput limits), so
 * these tests provoke partial failures through the SDK middleware stack of the real client:
 * the chosen entries are removed from the real request before it is sent and reported back as
 * failed (ErrorCode, no SequenceNumber, FailedRecordCount) in the real response, as AWS does.
 * Everything else — the other records, the retries — goes to kinesalite for real.
 */
describe('kinesis produce: partial failures', () => {
  let client: KinesisStreamClient;
  let puts: PutRecordsCommandInput[];
  const streams = streamTracker(() => client);

  function clientWith(calls: Map<number, { positions: number[]; errorCode: string }>, retries = 5): void {
    client = kinesisTestClient({ retry: { retries, initialDelayMs: 5, maxDelayMs: 20 } });
    // registered first, so it sees the requests as our producer made them, before the injection bends them
    puts = watchCommand<PutRecordsCommandInput>(client, 'PutRecordsCommand');
    injectPartialFailures(client, { calls });
  }

  afterEach(async () => {
    await streams.cleanup();
    await client.close();
  });

  it.each(['ProvisionedThroughputExceededException', 'InternalFailure'])('retries only the entries that failed with %s, and every record lands exactly once', async (errorCode) => {
    clientWith(new Map([[0, { positions: [1, 3, 4], errorCode }]]));
    const stream = await streams.create(2);
    const input = records(6, 16, 6);
    const produced = await client.produce(stream, input);
    expect(puts.map((request) => request.Records?.length)).toEqual([6, 3]);
    expect((puts[1]?.Records ?? []).map((entry) => Buffer.from(entry.Data ?? []).toString('utf8', 0, 6))).toEqual(['000001', '000003', '000004']);
    const read = await readStream(client, stream, 6);
    expect(read.map((record) => record.value.toString('utf8', 0, 6)).sort()).toEqual(input.map((record) => record.value.toString('utf8', 0, 6)));
    const byPlace = new Map(read.map((record) => [`${record.partition}/${record.position}`, record.value.toString('utf8', 0, 6)]));
    expect(produced.map((place) => byPlace.get(`${place.partition}/${place.position}`))).toEqual(input.map((record) => record.value.toString('utf8', 0, 6)));
  });

  it('keeps retrying what is still failing, entry by entry, until it is written', async () => {
    clientWith(
      new Map([
        [0, { positions: [0, 2, 4], errorCode: 'ProvisionedThroughputExceededException' }],
        [1, { positions: [1], errorCode: 'ProvisionedThroughputExceededException' }],
      ]),
    );
    const stream = await streams.create(1);
    const input = records(5, 16);
    await client.produce(stream, input);
    expect(puts.map((request) => (request.Records ?? []).map((entry) => Buffer.from(entry.Data ?? []).toString('utf8', 0, 6)))).toEqual([
      ['000000', '000001', '000002', '000003', '000004'],
      ['000000', '000002', '000004'],
      ['000002'],
    ]);
    expect((await readStream(client, stream, 5)).map((record) => record.value.toString('utf8', 0, 6)).sort()).toEqual(['000000', '000001', '000002', '000003', '000004']);
  });

  it('gives up with a retriable THROUGHPUT_EXCEEDED once retries run out', async () => {
    const always = { positions: [0], errorCode: 'ProvisionedThroughputExceededException' };
    clientWith(new Map([[0, always], [1, always], [2, always]]), 2);
    const stream = await streams.create(1);
    const error = await rejection(client.produce(stream, records(2, 16)));
    expect(error.code).toBe('THROUGHPUT_EXCEEDED');
    expect(error.retriable).toBe(true);
    expect(puts).toHaveLength(3);
  });

  it('does not retry an entry that failed for a reason retrying cannot fix (KMS access denied)', async () => {
    clientWith(new Map([[0, { positions: [1], errorCode: 'KMSAccessDeniedException' }]]));
    const stream = await streams.create(1);
    const error = await rejection(client.produce(stream, records(3, 16)));
    expect(error.code).toBe('PRODUCE_FAILED');
    expect(error.retriable).toBe(false);
    expect(error.message).toContain('KMSAccessDeniedException');
    expect(puts).toHaveLength(1);
  });
});
