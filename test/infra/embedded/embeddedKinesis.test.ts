import { isSluiceError } from '../../../core/errors';
import { startEmbeddedKinesis } from '../../../infra/embedded/embeddedKinesis';
import type { EmbeddedKinesis } from '../../../infra/embedded/embeddedKinesis';
import { probeKinesis } from '../../../infra/probes';
import { openStreamClient } from '../../../streams/openStreamClient';
import { uniqueName } from '../../support/servers';
import { holdPort } from '../infraTestSupport';

describe('startEmbeddedKinesis (kinesalite in this process)', () => {
  let kinesis: EmbeddedKinesis | undefined;

  afterEach(async () => {
    await kinesis?.close();
    kinesis = undefined;
  });

  it('serves the project\'s Kinesis StreamClient: create a stream, produce, read back in order per key', async () => {
    kinesis = await startEmbeddedKinesis();
    expect(kinesis.endpoint).toBe(`http://127.0.0.1:${kinesis.port}`);
    const client = openStreamClient(`kinesis://127.0.0.1:${kinesis.port}/unused`);
    try {
      const stream = uniqueName('embedded-kinesis');
      await client.createStream(stream, 2);
      const records = Array.from({ length: 10 }, (_, i) => ({ key: `dev-${i % 3}`, value: Buffer.from(`reading-${i}`), timestamp: 1_763_000_000_000 + i }));
      const produced = await client.produce(stream, records);
      expect(produced).toHaveLength(10);
      const read: Array<{ key: string; value: string; timestamp: number }> = [];
      for (const partition of await client.listPartitions(stream)) {
        const reader = await client.openReader(stream, partition.id, { type: 'earliest' });
        const result = await reader.read({ maxRecords: 100 });
        read.push(...result.records.map((record) => ({ key: record.key, value: record.value.toString(), timestamp: record.timestamp })));
        await reader.close();
      }
      const expected = records.map((record) => ({ key: record.key, value: record.value.toString(), timestamp: record.timestamp }));
      expect([...read].sort((a, b) => a.timestamp - b.timestamp)).toEqual(expected);
      for (const key of ['dev-0', 'dev-1', 'dev-2']) {
        expect(read.filter((record) => record.key === key)).toEqual(expected.filter((record) => record.key === key));
      }
    } finally {
      await client.close();
    }
  });

  it('stops answering after close(), and close() twice is fine', async () => {
    kinesis = await startEmbeddedKinesis();
    expect((await probeKinesis(kinesis.endpoint, 1000)).ok).toBe(true);
    await kinesis.close();
    await kinesis.close();
    expect((await probeKinesis(kinesis.endpoint, 1000)).ok).toBe(false);
  });

  it('refuses a port that is already taken with PORT_IN_USE naming the port', async () => {
    const holder = await holdPort();
    try {
      const error: unknown = await startEmbeddedKinesis({ port: holder.port }).then(
        async (started) => {
          await started.close();
          return undefined;
        },
        (reason: unknown) => reason,
      );
      expect(isSluiceError(error, 'PORT_IN_USE')).toBe(true);
      expect((error as Error).message).toContain(`127.0.0.1:${holder.port}`);
    } finally {
      await holder.close();
    }
  });
});
