/**
 * The one conformance suite every stream adapter passes (like MQTT.js' abstract_client or
 * bullmq's adapter suite). It states the contract of streams/streamClient.ts as behaviour,
 * against real servers. A new adapter is done when this suite passes for it.
 */
import { isSluiceError } from '../../core/errors';
import type { ErrorCode } from '../../core/errors';
import type { PartitionId, ProducedRecord, StartPosition, StreamClient, StreamRecord, StreamRecordInput } from '../../streams/streamClient';
import { uniqueName } from '../support/servers';

export interface ConformanceTarget {
  client: StreamClient;
  /** Kinesis only: split an open shard in two (a reshard); Kafka has no equivalent */
  splitPartition?: (stream: string, partition: PartitionId) => Promise<void>;
}

const READ_DEADLINE_MS = 30_000;

/** Reads one partition from `start` until `count` records arrived or the partition ended. */
export async function readPartition(client: StreamClient, stream: string, partition: PartitionId, start: StartPosition, count: number): Promise<{ records: StreamRecord[]; ended: boolean }> {
  const reader = await client.openReader(stream, partition, start);
  const records: StreamRecord[] = [];
  let ended = false;
  const deadline = Date.now() + READ_DEADLINE_MS;
  try {
    while (records.length < count && Date.now() < deadline) {
      const result = await reader.read({ maxRecords: Math.min(500, count - records.length), waitMs: 500 });
      records.push(...result.records);
      if (result.endOfPartition) {
        ended = true;
        break;
      }
    }
  } finally {
    await reader.close();
  }
  return { records, ended };
}

/** Reads an open partition from the earliest record until two reads in a row find nothing new. */
export async function drainPartition(client: StreamClient, stream: string, partition: PartitionId): Promise<StreamRecord[]> {
  const reader = await client.openReader(stream, partition, { type: 'earliest' });
  const records: StreamRecord[] = [];
  try {
    let emptyReads = 0;
    const deadline = Date.now() + READ_DEADLINE_MS;
    while (emptyReads < 2 && Date.now() < deadline) {
      const result = await reader.read({ maxRecords: 1000, waitMs: 300 });
      records.push(...result.records);
      if (result.endOfPartition) break;
      emptyReads = result.records.length === 0 ? emptyReads + 1 : 0;
    }
  } finally {
    await reader.close();
  }
  return records;
}

/**
 * Walks every partition (parents before children, as describeStream orders them) from the
 * earliest record, reading each until it ends or until `expected` records were seen in total.
 */
export async function readWholeStream(client: StreamClient, stream: string, expected: number): Promise<StreamRecord[]> {
  const partitions = await client.listPartitions(stream);
  const all: StreamRecord[] = [];
  // Drain each partition of what is there now (open partitions give no end marker).
  for (const partition of partitions) {
    const reader = await client.openReader(stream, partition.id, { type: 'earliest' });
    try {
      let emptyReads = 0;
      const deadline = Date.now() + READ_DEADLINE_MS;
      while (Date.now() < deadline && emptyReads < 2 && all.length < expected) {
        const result = await reader.read({ maxRecords: 1000, waitMs: 300 });
        all.push(...result.records);
        if (result.endOfPartition) break;
        emptyReads = result.records.length === 0 ? emptyReads + 1 : 0;
      }
    } finally {
      await reader.close();
    }
  }
  return all;
}

function expectErrorCode(error: unknown, code: ErrorCode): void {
  if (!isSluiceError(error)) throw new Error(`expected a SluiceError ${code}, got: ${String(error)}`);
  expect(error.code).toBe(code);
}

async function expectRejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  if (caught === undefined) throw new Error(`expected rejection with ${code}, but it resolved`);
  expectErrorCode(caught, code);
}

function keyedRecords(keys: number, perKey: number, valueBytes = 32, round = 0): StreamRecordInput[] {
  const records: StreamRecordInput[] = [];
  for (let seq = 0; seq < perKey; seq++) {
    for (let k = 0; k < keys; k++) {
      const body = JSON.stringify({ key: `device-${k}`, seq, round });
      records.push({ key: `device-${k}`, value: Buffer.concat([Buffer.from(body), Buffer.alloc(Math.max(0, valueBytes - body.length), 0x20)]) });
    }
  }
  return records;
}

function parseBody(record: StreamRecord): { key: string; seq: number; round: number } {
  return JSON.parse(record.value.toString('utf8').trimEnd()) as { key: string; seq: number; round: number };
}

function bigPosition(position: string): bigint {
  return BigInt(position);
}

export function describeStreamConformance(label: string, setup: () => Promise<ConformanceTarget>): void {
  describe(`stream conformance: ${label}`, () => {
    let target: ConformanceTarget;
    let client: StreamClient;
    const created: string[] = [];

    beforeAll(async () => {
      target = await setup();
      client = target.client;
    });

    afterAll(async () => {
      for (const name of created) await client.deleteStream(name).catch(() => undefined);
      await client.close();
    });

    async function newStream(partitions: number): Promise<string> {
      const name = uniqueName('conf');
      await client.createStream(name, partitions);
      created.push(name);
      return name;
    }

    it('creates a stream with the asked number of partitions, none with parents', async () => {
      const name = await newStream(3);
      const description = await client.describeStream(name);
      expect(description.name).toBe(name);
      expect(description.kind).toBe(client.kind);
      expect(description.partitions).toHaveLength(3);
      expect(new Set(description.partitions.map((p) => p.id)).size).toBe(3);
      for (const partition of description.partitions) {
        expect(partition.parents).toEqual([]);
        expect(partition.closed).toBe(false);
      }
      expect(await client.listPartitions(name)).toEqual(description.partitions);
    });

    it('refuses to create a stream that exists, with STREAM_EXISTS', async () => {
      const name = await newStream(1);
      await expectRejectsWith(client.createStream(name, 1), 'STREAM_EXISTS');
    });

    it('gives typed STREAM_NOT_FOUND errors for a stream that does not exist', async () => {
      const missing = uniqueName('missing');
      await expectRejectsWith(client.describeStream(missing), 'STREAM_NOT_FOUND');
      await expectRejectsWith(client.listPartitions(missing), 'STREAM_NOT_FOUND');
      await expectRejectsWith(client.produce(missing, [{ key: 'k', value: Buffer.from('v') }]), 'STREAM_NOT_FOUND');
    });

    it('gives PARTITION_NOT_FOUND for a partition the stream does not have', async () => {
      const name = await newStream(1);
      await expectRejectsWith(client.openReader(name, 'no-such-partition', { type: 'earliest' }), 'PARTITION_NOT_FOUND');
    });

    it('returns where each produced record landed, in input order, and reads back exactly those records', async () => {
      const name = await newStream(3);
      const input = keyedRecords(6, 5);
      const produced = await client.produce(name, input);
      expect(produced).toHaveLength(input.length);
      const read = await readWholeStream(client, name, input.length);
      expect(read).toHaveLength(input.length);
      const byPlace = new Map(read.map((record) => [`${record.partition}/${record.position}`, record]));
      produced.forEach((place: ProducedRecord, index) => {
        const record = byPlace.get(`${place.partition}/${place.position}`);
        expect(record).toBeDefined();
        expect(record?.key).toBe(input[index]?.key);
        expect(record?.value.equals(input[index]?.value ?? Buffer.alloc(0))).toBe(true);
        expect(record?.stream).toBe(name);
      });
    });

    it('keeps each key in one partition, in produce order, across produce calls', async () => {
      const name = await newStream(4);
      const rounds = 3;
      for (let round = 0; round < rounds; round++) await client.produce(name, keyedRecords(12, 10, 32, round));
      const read = await readWholeStream(client, name, 12 * 10 * rounds);
      expect(read).toHaveLength(12 * 10 * rounds);
      const partitionOfKey = new Map<string, string>();
      const lastOfKey = new Map<string, number>();
      const sorted = [...read].sort((a, b) => (a.partition === b.partition ? Number(bigPosition(a.position) - bigPosition(b.position)) : a.partition < b.partition ? -1 : 1));
      for (const record of sorted) {
        const body = parseBody(record);
        const order = body.round * 1000 + body.seq;
        const seenPartition = partitionOfKey.get(record.key);
        if (seenPartition !== undefined) expect(record.partition).toBe(seenPartition);
        partitionOfKey.set(record.key, record.partition);
        expect(order).toBeGreaterThan(lastOfKey.get(record.key) ?? -1);
        lastOfKey.set(record.key, order);
      }
      expect(partitionOfKey.size).toBe(12);
    });

    it('delivers every record once to a reader walking all partitions (no loss, no duplicates)', async () => {
      const name = await newStream(3);
      const input = keyedRecords(20, 25);
      await client.produce(name, input);
      const read = await readWholeStream(client, name, input.length);
      const ids = read.map((record) => `${record.key}#${parseBody(record).seq}`);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBe(input.length);
    });

    it('resumes after a saved position and at a position', async () => {
      const name = await newStream(1);
      const input = keyedRecords(1, 30);
      const produced = await client.produce(name, input);
      const partition = produced[0]?.partition ?? '';
      const firstPart = await readPartition(client, name, partition, { type: 'earliest' }, 10);
      const checkpoint = firstPart.records[9];
      expect(checkpoint).toBeDefined();
      if (!checkpoint) return;
      expect(parseBody(checkpoint).seq).toBe(9);
      const after = await readPartition(client, name, partition, { type: 'after', position: checkpoint.position }, 20);
      expect(after.records.map((record) => parseBody(record).seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 10));
      const at = await readPartition(client, name, partition, { type: 'at', position: checkpoint.position }, 1);
      expect(parseBody(at.records[0] as StreamRecord).seq).toBe(9);
      // positions grow strictly within a partition
      const positions = [...firstPart.records, ...after.records].map((record) => bigPosition(record.position));
      for (let i = 1; i < positions.length; i++) expect((positions[i] as bigint) > (positions[i - 1] as bigint)).toBe(true);
    });

    it('starts a latest reader after the records that were already there', async () => {
      const name = await newStream(1);
      const before = await client.produce(name, [{ key: 'k', value: Buffer.from('old') }]);
      const partition = before[0]?.partition ?? '';
      const reader = await client.openReader(name, partition, { type: 'latest' });
      try {
        // give a lazy reader the chance to (wrongly) pick up the old record
        const early = await reader.read({ maxRecords: 10, waitMs: 300 });
        expect(early.records).toHaveLength(0);
        await client.produce(name, [{ key: 'k', value: Buffer.from('new') }]);
        const collected: StreamRecord[] = [];
        const deadline = Date.now() + READ_DEADLINE_MS;
        while (collected.length === 0 && Date.now() < deadline) collected.push(...(await reader.read({ maxRecords: 10, waitMs: 500 })).records);
        expect(collected.map((record) => record.value.toString())).toEqual(['new']);
      } finally {
        await reader.close();
      }
    });

    it('starts an at-timestamp reader at the first record that arrived at or after the timestamp', async () => {
      const name = await newStream(1);
      const first = await client.produce(name, keyedRecords(1, 5, 32, 0));
      const partition = first[0]?.partition ?? '';
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const boundary = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 200));
      await client.produce(name, keyedRecords(1, 5, 32, 1));
      const read = await readPartition(client, name, partition, { type: 'at-timestamp', timestamp: boundary }, 5);
      expect(read.records.map((record) => parseBody(record).round)).toEqual([1, 1, 1, 1, 1]);
      for (const record of read.records) expect(record.arrivalTime).toBeGreaterThanOrEqual(boundary - 1000);
    });

    it('preserves producer timestamps, binary values, empty values and binary headers', async () => {
      const name = await newStream(1);
      const eventTime = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
      const binary = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 0x00]);
      const input: StreamRecordInput[] = [
        { key: 'k', value: binary, timestamp: eventTime, headers: { 'content-type': Buffer.from('avro/binary'), trace: Buffer.from([0xde, 0xad, 0xbe, 0xef]) } },
        { key: 'k', value: Buffer.alloc(0), timestamp: eventTime + 1 },
        { key: 'k', value: Buffer.from('plain') },
      ];
      const before = Date.now();
      const produced = await client.produce(name, input);
      const read = await readPartition(client, name, produced[0]?.partition ?? '', { type: 'earliest' }, 3);
      expect(read.records).toHaveLength(3);
      const [first, second, third] = read.records as [StreamRecord, StreamRecord, StreamRecord];
      expect(first.value.equals(binary)).toBe(true);
      expect(first.timestamp).toBe(eventTime);
      expect(Object.keys(first.headers).sort()).toEqual(['content-type', 'trace']);
      expect(first.headers['content-type']?.toString()).toBe('avro/binary');
      expect(first.headers.trace?.equals(Buffer.from([0xde, 0xad, 0xbe, 0xef]))).toBe(true);
      expect(second.value.length).toBe(0);
      expect(second.timestamp).toBe(eventTime + 1);
      expect(second.headers).toEqual({});
      expect(third.value.toString()).toBe('plain');
      // no producer timestamp: the record carries its arrival time
      expect(third.timestamp).toBeGreaterThanOrEqual(before - 5000);
      // Kinesis stamps every record on arrival. Kafka keeps one timestamp per record (CREATE_TIME
      // topics): a record produced with an event time carries it as its arrival time too.
      const stampedOnArrival = client.kind === 'kinesis' ? read.records : [third];
      for (const record of stampedOnArrival) expect(record.arrivalTime).toBeGreaterThanOrEqual(before - 5000);
    });

    it('splits a large produce at the stream limits and loses nothing (1,200 records, 6 MB)', async () => {
      const name = await newStream(2);
      const input = keyedRecords(4, 300, 5 * 1024);
      const produced = await client.produce(name, input);
      expect(produced).toHaveLength(1200);
      expect(new Set(produced.map((place) => `${place.partition}/${place.position}`)).size).toBe(1200);
      const read = await readWholeStream(client, name, 1200);
      expect(read).toHaveLength(1200);
      expect(read.every((record) => record.value.length === 5 * 1024)).toBe(true);
    });

    it('refuses a single record over the size limit with RECORD_TOO_LARGE, not retried forever', async () => {
      const name = await newStream(1);
      await expectRejectsWith(client.produce(name, [{ key: 'k', value: Buffer.alloc(1100 * 1024, 1) }]), 'RECORD_TOO_LARGE');
    });

    it('deletes a stream', async () => {
      const name = uniqueName('conf-del');
      await client.createStream(name, 1);
      await client.deleteStream(name);
      await expectRejectsWith(client.describeStream(name), 'STREAM_NOT_FOUND');
    });

    it('keeps order per key across a reshard: parents end, children continue (where the stream reshards)', async () => {
      if (!target.splitPartition) {
        // Kafka cannot split a partition; adding partitions remaps keys and Kafka documents that
        // it breaks per-key order. The adapter must say so by not offering splitPartition.
        expect(client.kind).toBe('kafka');
        return;
      }
      const name = await newStream(1);
      const before = await client.produce(name, keyedRecords(8, 10, 32, 0));
      const parent = before[0]?.partition ?? '';
      await target.splitPartition(name, parent);
      const partitions = await client.listPartitions(name);
      const children = partitions.filter((p) => p.parents.includes(parent));
      expect(children).toHaveLength(2);
      expect(partitions.find((p) => p.id === parent)?.closed).toBe(true);
      expect(partitions.findIndex((p) => p.id === parent)).toBeLessThan(Math.min(...children.map((c) => partitions.findIndex((p) => p.id === c.id))));
      await client.produce(name, keyedRecords(8, 10, 32, 1));
      const parentRead = await readPartition(client, name, parent, { type: 'earliest' }, 1_000_000);
      expect(parentRead.ended).toBe(true);
      expect(parentRead.records).toHaveLength(80);
      const childRecords: StreamRecord[] = [];
      for (const child of children) childRecords.push(...(await drainPartition(client, name, child.id)));
      expect(childRecords).toHaveLength(80);
      // parent first, then its children: per key, the sequence continues in order
      const sequenceByKey = new Map<string, number[]>();
      for (const record of [...parentRead.records, ...childRecords]) {
        const body = parseBody(record);
        const list = sequenceByKey.get(record.key) ?? [];
        list.push(body.round * 1000 + body.seq);
        sequenceByKey.set(record.key, list);
      }
      expect(sequenceByKey.size).toBe(8);
      for (const list of sequenceByKey.values()) {
        expect(list).toHaveLength(20);
        expect(list).toEqual([...list].sort((a, b) => a - b));
      }
    });
  });
}
