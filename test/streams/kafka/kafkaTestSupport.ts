/**
 * Helpers for the Kafka adapter tests: a raw kafkajs client for setting up what the adapter
 * cannot (topic configs, transactions, deleted records), and a reader loop.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { PartitionId, StartPosition, StreamClient, StreamRecord } from '../../../streams/streamClient';
import { testServers } from '../../support/servers';

export function rawKafka(clientId = 'sluice-test-raw'): Kafka {
  return new Kafka({ brokers: testServers.kafkaBrokers, clientId, logLevel: logLevel.NOTHING });
}

/** Reads a partition from `start` until `count` records came or `idleReads` reads in a row brought none. */
export async function readRecords(client: StreamClient, stream: string, partition: PartitionId, start: StartPosition, count: number, options: { maxRecords?: number; idleReads?: number } = {}): Promise<StreamRecord[]> {
  const reader = await client.openReader(stream, partition, start);
  const records: StreamRecord[] = [];
  let idle = 0;
  try {
    while (records.length < count && idle < (options.idleReads ?? 20)) {
      const result = await reader.read({ maxRecords: options.maxRecords ?? 1000, waitMs: 250 });
      records.push(...result.records);
      idle = result.records.length === 0 ? idle + 1 : 0;
    }
  } finally {
    await reader.close();
  }
  return records;
}

export async function thrown(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but it resolved');
}
