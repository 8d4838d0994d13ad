import { Writable } from 'node:stream';
import pino from 'pino';
import { isSluiceError } from '../../../core/errors';
import { createFetchCluster, filterFetchedPartition } from '../../../streams/kafka/kafkajsInternals';
import { createKafkaStreamClient, KafkaStreamClient } from '../../../streams/kafka/kafkaStreamClient';
import { rawKafka, thrown } from './kafkaTestSupport';
import { testServers, uniqueName } from '../../support/servers';

function memoryLogger(level: string): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ level }, sink);
  return { logger, lines: () => chunks.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('kafka adapter: client', () => {
  it('names the bad option in a ConfigError', () => {
    const cases: Array<[Parameters<typeof createKafkaStreamClient>[0], string]> = [
      [{ brokers: [] }, 'kafka.brokers'],
      [{ brokers: ['no-port'] }, 'kafka.brokers'],
      [{ brokers: ['127.0.0.1:9092'], fetchMaxBytes: 0 }, 'kafka.fetchMaxBytes'],
      [{ brokers: ['127.0.0.1:9092'], clientId: 'bad id!' }, 'kafka.clientId'],
      [{ brokers: ['127.0.0.1:9092'], idempotent: true, produceRetries: 0 }, 'kafka.produceRetries'],
    ];
    for (const [options, path] of cases) {
      let caught: unknown;
      try {
        createKafkaStreamClient(options);
      } catch (error) {
        caught = error;
      }
      expect(isSluiceError(caught, 'CONFIG_INVALID')).toBe(true);
      expect((caught as { path?: string }).path).toBe(path);
    }
  });

  it('refuses bad stream names and partition counts with typed errors', async () => {
    const client = createKafkaStreamClient({ brokers: testServers.kafkaBrokers });
    try {
      expect(isSluiceError(await thrown(client.createStream('has space', 1)), 'ADDRESS_INVALID')).toBe(true);
      expect(isSluiceError(await thrown(client.createStream(uniqueName('kclient'), 0)), 'CONFIG_INVALID')).toBe(true);
      expect(isSluiceError(await thrown(client.describeStream('..')), 'ADDRESS_INVALID')).toBe(true);
      expect(isSluiceError(await thrown(client.deleteStream(uniqueName('kclient-missing'))), 'STREAM_NOT_FOUND')).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('says STREAM_NOT_FOUND for a topic someone else deleted after the client had described it', async () => {
    const client = createKafkaStreamClient({ brokers: testServers.kafkaBrokers });
    const admin = rawKafka().admin();
    await admin.connect();
    const name = uniqueName('kclient-gone');
    try {
      await client.createStream(name, 2);
      expect((await client.describeStream(name)).partitions).toHaveLength(2);
      await admin.deleteTopics({ topics: [name] });
      expect(isSluiceError(await thrown(client.describeStream(name)), 'STREAM_NOT_FOUND')).toBe(true);
      expect(isSluiceError(await thrown(client.deleteStream(name)), 'STREAM_NOT_FOUND')).toBe(true);
    } finally {
      await admin.disconnect();
      await client.close();
    }
  });

  it('sends kafkajs’ own log lines to our pino logger, not to the console', async () => {
    const consoleCalls: unknown[] = [];
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((method) => jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void consoleCalls.push(args)));
    const { logger, lines } = memoryLogger('debug');
    const client = createKafkaStreamClient({ brokers: testServers.kafkaBrokers, logger });
    const name = uniqueName('kclient-log');
    try {
      await client.createStream(name, 1);
      await client.produce(name, [{ key: 'k', value: Buffer.from('v') }]);
      const reader = await client.openReader(name, '0', { type: 'earliest' });
      await reader.read({ waitMs: 1000 });
      await client.deleteStream(name);
    } finally {
      await client.close();
      spies.forEach((spy) => spy.mockRestore());
    }
    expect(consoleCalls).toEqual([]);
    const fromKafkajs = lines().filter((line) => line.component === 'kafkajs');
    expect(fromKafkajs.length).toBeGreaterThan(0);
    expect(fromKafkajs.every((line) => typeof line.msg === 'string' && typeof line.namespace === 'string')).toBe(true);
  });

  it('close() closes open readers and refuses further use', async () => {
    const client = new KafkaStreamClient({ brokers: testServers.kafkaBrokers });
    const admin = rawKafka().admin();
    await admin.connect();
    const name = uniqueName('kclient-close');
    try {
      await client.createStream(name, 1);
      const reader = await client.openReader(name, '0', { type: 'latest' });
      await client.close();
      expect(isSluiceError(await thrown(reader.read()), 'READER_CLOSED')).toBe(true);
      expect(isSluiceError(await thrown(client.produce(name, [{ key: 'k', value: Buffer.from('v') }])), 'READER_CLOSED')).toBe(true);
      expect(isSluiceError(await thrown(client.openReader(name, '0', { type: 'earliest' })), 'READER_CLOSED')).toBe(true);
      await client.close(); // twice is fine
    } finally {
      await admin.deleteTopics({ topics: [name] });
      await admin.disconnect();
    }
  });

  it('gives CONNECTION_FAILED, retriable, when no broker answers', async () => {
    const client = createKafkaStreamClient({ brokers: ['127.0.0.1:1'], connectionTimeoutMs: 200, retries: 0 });
    try {
      const error = await thrown(client.describeStream('anything'));
      expect(isSluiceError(error, 'CONNECTION_FAILED')).toBe(true);
      expect((error as { retriable?: boolean }).retriable).toBe(true);
      expect(isSluiceError(await thrown(client.openReader('anything', '0', { type: 'earliest' })), 'CONNECTION_FAILED')).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('still finds the kafkajs internals the reader is built on (kafkajs pinned at 2.2.4)', async () => {
    const kafka = rawKafka();
    const cluster = createFetchCluster({ brokers: testServers.kafkaBrokers, clientId: 'sluice-test-internals', logger: kafka.logger(), connectionTimeoutMs: 3000, requestTimeoutMs: 30000, retry: { retries: 0 } });
    for (const method of ['connect', 'disconnect', 'addTargetTopic', 'refreshMetadata', 'findTopicPartitionMetadata', 'findLeaderForPartitions', 'findBroker', 'fetchTopicsOffset'] as const) {
      expect(typeof cluster[method]).toBe('function');
    }
    await cluster.connect();
    await cluster.disconnect();
    expect(filterFetchedPartition('t', '5', { partition: 0, errorCode: 0, highWatermark: '7', lastStableOffset: '7', abortedTransactions: [], messages: [] })).toEqual([]);
  });
});
