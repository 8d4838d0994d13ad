import { IngestPipeline } from '../../ingest/ingestPipeline';
import type { IngestAck } from '../../ingest/ingestPipeline';
import { createIngestStreams, decodeDeadLetters, decodeReadings, readWholeStream } from './ingestTestSupport';
import type { IngestStreams } from './ingestTestSupport';

const payload = (deviceId: string, seq: number) => Buffer.from(JSON.stringify({ deviceId, seq, eventTime: 1_763_000_000_000, deviceType: 'gps-tracker', metrics: { speedKmh: seq } }));

describe('IngestPipeline on Kafka', () => {
  let streams: IngestStreams;

  beforeEach(async () => {
    streams = await createIngestStreams('ingpipe', 2);
  });

  afterEach(async () => {
    await streams.cleanup();
  });

  function pipeline(maxInFlightMessages: number): IngestPipeline {
    return new IngestPipeline({
      telemetry: { client: streams.client, stream: streams.telemetry },
      deadLetter: { client: streams.client, stream: streams.deadLetter },
      codec: streams.codec,
      maxInFlightMessages,
      maxBatchMessages: 4,
    });
  }

  it('acks a message only after the produce call holding its record or dead letter resolved (durable)', async () => {
    // The real Kafka client, with a note of every record whose produce call has resolved.
    const durable: Buffer[] = [];
    const recordingClient = Object.create(streams.client) as typeof streams.client;
    recordingClient.produce = async (name, records) => {
      const produced = await streams.client.produce(name, records);
      durable.push(...records.map((record) => record.value));
      return produced;
    };
    const ingest = new IngestPipeline({
      telemetry: { client: recordingClient, stream: streams.telemetry },
      deadLetter: { client: recordingClient, stream: streams.deadLetter },
      codec: streams.codec,
      maxBatchMessages: 4,
    });
    const acks: Array<{ seq: number; durableAtAck: number; error: Error | undefined }> = [];
    const ack = (seq: number): IngestAck => (error) => acks.push({ seq, durableAtAck: durable.length, error });
    for (let seq = 0; seq < 6; seq += 1) ingest.submit({ topic: 'devices/p-1/telemetry', payload: payload('p-1', seq) }, ack(seq));
    ingest.submit({ topic: 'devices/p-2/telemetry', payload: payload('p-1', 99) }, ack(99));
    await ingest.drain();

    expect(acks.map(({ seq, error }) => ({ seq, error }))).toEqual([0, 1, 2, 3, 4, 5, 99].map((seq) => ({ seq, error: undefined })));
    for (const { seq, durableAtAck } of acks) {
      const seqsDurableThen = [];
      for (const value of durable.slice(0, durableAtAck)) {
        const decoded = (await streams.codec.decode(value)) as { seq?: number; original?: Buffer };
        seqsDurableThen.push(decoded.seq ?? (JSON.parse(decoded.original?.toString() ?? '{}') as { seq: number }).seq);
      }
      expect(seqsDurableThen).toContain(seq);
    }
    const letters = await decodeDeadLetters(streams.codec, await readWholeStream(streams.client, streams.deadLetter));
    expect(letters.map(({ reasonCode, source, attempts }) => ({ reasonCode, source, attempts }))).toEqual([{ reasonCode: 'topic_mismatch', source: { kind: 'mqtt', address: 'devices/p-2/telemetry' }, attempts: 1 }]);
    expect(letters[0]?.original).toEqual(payload('p-1', 99));
    const stored = (await decodeReadings(streams.codec, await readWholeStream(streams.client, streams.telemetry))).map(({ reading }) => reading.seq);
    expect(stored).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('has no capacity at maxInFlightMessages, and whenReady resolves once acks free it', async () => {
    const ingest = pipeline(5);
    let acked = 0;
    for (let seq = 0; seq < 5; seq += 1) ingest.submit({ topic: 'devices/p-3/telemetry', payload: payload('p-3', seq) }, () => (acked += 1));
    expect(ingest.hasCapacity()).toBe(false);
    expect(ingest.inFlightMessages).toBe(5);
    await ingest.whenReady();
    expect(acked).toBeGreaterThan(0);
    expect(ingest.hasCapacity()).toBe(true);
    await ingest.drain();
    expect(acked).toBe(5);
    const seqs = (await decodeReadings(streams.codec, await readWholeStream(streams.client, streams.telemetry))).map(({ reading }) => reading.seq);
    expect(seqs).toEqual([0, 1, 2, 3, 4]);
  });
});
