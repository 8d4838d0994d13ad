/**
 * Follows the dead-letter streams from their beginning and keeps the newest entries of each in
 * memory, so the browser's list and totals cost no stream reads per request. Streams that do
 * not exist yet are looked for again on the next poll; a partition whose read fails is reopened
 * after the last record it delivered, so nothing is skipped or counted twice.
 */
import type { Logger } from 'pino';
import { SluiceError, errorMessage, isSluiceError } from '../../core/errors';
import { silentLogger } from '../../core/logger';
import type { PartitionReader, StreamClient } from '../../streams/streamClient';
import type { DeadLetterEntry, DeadLetterKind, DeadLetterPage } from './dashboardSources';
import { DashboardNotFoundError } from './dashboardSources';
import { decodeDeadLetter, parseDeadLetterId } from './deadLetterEntries';
import type { DecodedDeadLetter } from './deadLetterEntries';

export interface DeadLetterStreamRef {
  stream: string;
  kind: DeadLetterKind;
}

export interface DeadLetterTailOptions {
  client: StreamClient;
  streams: readonly DeadLetterStreamRef[];
  decodeAvro: (bytes: Buffer) => Promise<unknown>;
  /** newest entries kept per stream */
  keepPerStream?: number;
  pollMs?: number;
  logger?: Logger;
}

interface PartitionFollower {
  partition: string;
  reader: PartitionReader | undefined;
  /** position of the last record taken in; reopen after it */
  last: string | undefined;
}

interface StreamFollower {
  ref: DeadLetterStreamRef;
  partitions: PartitionFollower[] | undefined;
  entries: DeadLetterEntry[];
  total: number;
  problem: string | undefined;
}

const READ_BATCH = 500;

export class DeadLetterTail {
  private readonly followers: StreamFollower[];
  private readonly keep: number;
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private firstPass: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: DeadLetterTailOptions) {
    this.followers = options.streams.map((ref) => ({ ref, partitions: undefined, entries: [], total: 0, problem: undefined }));
    this.keep = options.keepPerStream ?? 1000;
    this.logger = options.logger ?? silentLogger;
  }

  start(): void {
    this.firstPass = this.poll();
    this.timer = setInterval(() => void this.poll(), this.options.pollMs ?? 1000);
  }

  /** Newest first across the streams; waits for the first pass over the streams so a fresh dashboard shows what is there. */
  async page(limit: number): Promise<DeadLetterPage> {
    await this.firstPass;
    const entries = this.followers.flatMap((follower) => follower.entries).sort((a, b) => b.time - a.time || b.id.localeCompare(a.id));
    return { entries: entries.slice(0, limit), totals: this.totals() };
  }

  totals(): Record<string, number> {
    return Object.fromEntries(this.followers.map((follower) => [follower.ref.stream, follower.total]));
  }

  /** Streams that could not be read on the last poll, and why. */
  problems(): string[] {
    return this.followers.filter((follower) => follower.problem !== undefined).map((follower) => `${follower.ref.stream}: ${follower.problem}`);
  }

  /** The dead letter with this id, read again from its stream (the kept entries hold no payloads). */
  async find(id: string): Promise<DecodedDeadLetter> {
    const parsed = parseDeadLetterId(id);
    const follower = parsed && this.followers.find((candidate) => candidate.ref.stream === parsed.stream);
    if (!parsed || !follower) throw new DashboardNotFoundError(`"${id}" is not a record of a dead-letter stream (${this.followers.map((f) => f.ref.stream).join(', ')})`);
    let reader: PartitionReader;
    try {
      reader = await this.options.client.openReader(parsed.stream, parsed.partition, { type: 'at', position: parsed.position });
    } catch (error) {
      if (isSluiceError(error) && !error.retriable) throw new DashboardNotFoundError(`no record ${id}: ${errorMessage(error)}`);
      throw error;
    }
    try {
      const { records } = await reader.read({ maxRecords: 1, waitMs: 2000 });
      const record = records[0];
      if (!record || record.position !== parsed.position) throw new DashboardNotFoundError(`no record ${id} (expired from the stream?)`);
      return await decodeDeadLetter(record, follower.ref.kind, this.options.decodeAvro);
    } finally {
      await reader.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.polling?.catch(() => undefined);
    const readers = this.followers.flatMap((follower) => follower.partitions ?? []).map((partition) => partition.reader);
    await Promise.allSettled(readers.map((reader) => reader?.close()));
  }

  private poll(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.polling ??= (async () => {
      for (const follower of this.followers) await this.pollStream(follower);
    })().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async pollStream(follower: StreamFollower): Promise<void> {
    try {
      follower.partitions ??= (await this.options.client.listPartitions(follower.ref.stream)).map((info) => ({ partition: info.id, reader: undefined, last: undefined }));
      for (const partition of follower.partitions) await this.pollPartition(follower, partition);
      follower.problem = undefined;
    } catch (error) {
      follower.problem = isSluiceError(error, 'STREAM_NOT_FOUND') ? 'does not exist (yet)' : errorMessage(error);
      this.logger.debug({ stream: follower.ref.stream, err: follower.problem }, 'dead-letter stream not read');
    }
  }

  private async pollPartition(follower: StreamFollower, partition: PartitionFollower): Promise<void> {
    const { client } = this.options;
    try {
      partition.reader ??= await client.openReader(follower.ref.stream, partition.partition, partition.last === undefined ? { type: 'earliest' } : { type: 'after', position: partition.last });
      for (;;) {
        const { records } = await partition.reader.read({ maxRecords: READ_BATCH, waitMs: 0 });
        for (const record of records) {
          const decoded = await decodeDeadLetter(record, follower.ref.kind, this.options.decodeAvro);
          follower.entries.push(decoded.entry);
          follower.total += 1;
          partition.last = record.position;
        }
        if (follower.entries.length > this.keep) follower.entries.splice(0, follower.entries.length - this.keep);
        if (records.length < READ_BATCH || this.closed) break;
      }
    } catch (error) {
      const reader = partition.reader;
      partition.reader = undefined; // reopened after `last` on the next poll
      await reader?.close().catch(() => undefined);
      throw error instanceof SluiceError ? error : new SluiceError('UNKNOWN', `${follower.ref.stream}/${partition.partition}: ${errorMessage(error)}`, { cause: error });
    }
  }
}
