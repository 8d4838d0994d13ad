/**
 * Follows a stream across a test's runs: readers stay open, so each run reads only what arrived
 * since the last one (a fuzz suite sends thousands of messages to one stream; re-reading it all
 * every run would cost more than the run).
 */
import type { PartitionReader, StreamClient, StreamRecord } from '../../streams/streamClient';

export class StreamTail {
  private constructor(private readonly readers: PartitionReader[]) {}

  static async open(client: StreamClient, stream: string): Promise<StreamTail> {
    const partitions = await client.listPartitions(stream);
    return new StreamTail(await Promise.all(partitions.map((partition) => client.openReader(stream, partition.id, { type: 'earliest' }))));
  }

  /**
   * The records that arrived since the last call: reads until at least `count` came or `timeoutMs`
   * passed, then once more, so that records beyond `count` (duplicates) are seen too.
   */
  async next(count: number, timeoutMs = 30_000): Promise<StreamRecord[]> {
    const records: StreamRecord[] = [];
    const deadline = Date.now() + timeoutMs;
    while (records.length < count && Date.now() < deadline) records.push(...(await this.readOnce(200)));
    records.push(...(await this.readOnce(150)));
    return records;
  }

  private async readOnce(waitMs: number): Promise<StreamRecord[]> {
    const found: StreamRecord[] = [];
    for (const reader of this.readers) found.push(...(await reader.read({ maxRecords: 1000, waitMs })).records);
    return found;
  }

  async close(): Promise<void> {
    await Promise.all(this.readers.map((reader) => reader.close()));
  }
}
