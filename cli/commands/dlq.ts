/**
 * `sluice dlq show|replay`: the failure records a mapping sent to its on-failure destination.
 *
 * show lists them (condition, source partition and positions, invoke count, whether the
 * records are included). replay sends the failed records back through: it decodes the full
 * records that failure records carry in `payload` when the mapping ran with IncludeRecords
 * (--include-records) and produces them, with their partition key / Kafka key and headers,
 * to a stream (usually the mapping's source). AWS-shaped failure records without payload only
 * say where the records were, and those may have expired: replay refuses them.
 *
 * replay reads every destination partition from its earliest record (or after --after, for a
 * one-partition destination) and keeps no memory of what it replayed: running it twice sends
 * the records twice. The printed last positions are what to pass to --after next time.
 */
import type { Command } from 'commander';
import { SluiceError } from '../../core/errors';
import { openStreamClient } from '../../streams/openStreamClient';
import { parseStreamAddress } from '../../streams/streamAddress';
import type { StartPosition, StreamClient, StreamRecord, StreamRecordInput } from '../../streams/streamClient';
import { formatTable } from './checkpoints';

/** What show prints for one failure record. */
export interface FailureRecordSummary {
  /** where the failure record sits in the destination */
  destinationPartition: string;
  destinationPosition: string;
  condition: string;
  /** the failed records' source partition(s): shard id or `<topic>-<partition>` */
  sourcePartition: string;
  firstPosition: string;
  lastPosition: string;
  batchSize: number;
  invokeCount: number;
  timestamp: string;
  recordsIncluded: boolean;
}

interface FailureRecordJson {
  requestContext?: { condition?: string; approximateInvokeCount?: number };
  timestamp?: string;
  KinesisBatchInfo?: { shardId?: string; startSequenceNumber?: string; endSequenceNumber?: string; batchSize?: number };
  KafkaBatchInfo?: {
    batchSize?: number;
    recordsInfo?: Record<string, { firstRecordOffset?: string; lastRecordOffset?: string }>;
    recordInfo?: { offset?: string };
  };
  payload?: { Records?: KinesisPayloadRecord[]; records?: Record<string, KafkaPayloadRecord[]> };
}

interface KinesisPayloadRecord {
  kinesis?: { partitionKey?: string; data?: string };
}

interface KafkaPayloadRecord {
  topic?: string;
  partition?: number;
  key?: string;
  value?: string;
  headers?: Array<Record<string, number[] | string>>;
}

export interface FailureRecordEntry {
  record: StreamRecord;
  failure: FailureRecordJson;
}

function parseFailure(record: StreamRecord): FailureRecordJson {
  try {
    const parsed: unknown = JSON.parse(record.value.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || !('requestContext' in parsed)) throw new Error('no requestContext');
    return parsed as FailureRecordJson;
  } catch (error) {
    throw new SluiceError('DECODE_FAILED', `record ${record.partition}/${record.position} of "${record.stream}" is not a failure record (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** Reads a partition from `start` until two reads in a row find nothing new. */
async function readToEnd(client: StreamClient, stream: string, partition: string, start: StartPosition, limit: number): Promise<StreamRecord[]> {
  const reader = await client.openReader(stream, partition, start);
  const records: StreamRecord[] = [];
  try {
    let emptyReads = 0;
    while (emptyReads < 2 && records.length < limit) {
      const result = await reader.read({ maxRecords: Math.min(1000, limit - records.length), waitMs: 300 });
      records.push(...result.records);
      if (result.endOfPartition) break;
      emptyReads = result.records.length === 0 ? emptyReads + 1 : 0;
    }
  } finally {
    await reader.close();
  }
  return records;
}

/** Every failure record of the destination, partition by partition, oldest first. */
export async function readFailureRecords(client: StreamClient, stream: string, options: { limit?: number; after?: string } = {}): Promise<FailureRecordEntry[]> {
  const partitions = await client.listPartitions(stream);
  if (options.after !== undefined && partitions.length !== 1) {
    throw new SluiceError('OPERATION_INVALID', `--after needs a destination with one partition; "${stream}" has ${partitions.length}`);
  }
  const start: StartPosition = options.after === undefined ? { type: 'earliest' } : { type: 'after', position: options.after };
  let remaining = options.limit ?? Number.POSITIVE_INFINITY;
  const entries: FailureRecordEntry[] = [];
  for (const partition of partitions) {
    if (remaining <= 0) break;
    const records = await readToEnd(client, stream, partition.id, start, remaining);
    remaining -= records.length;
    entries.push(...records.map((record) => ({ record, failure: parseFailure(record) })));
  }
  return entries;
}

export function summarizeFailure({ record, failure }: FailureRecordEntry): FailureRecordSummary {
  const common = {
    destinationPartition: record.partition,
    destinationPosition: record.position,
    condition: failure.requestContext?.condition ?? '?',
    invokeCount: failure.requestContext?.approximateInvokeCount ?? 0,
    timestamp: failure.timestamp ?? '',
    recordsIncluded: failure.payload !== undefined,
  };
  const kinesis = failure.KinesisBatchInfo;
  if (kinesis) {
    return { ...common, sourcePartition: kinesis.shardId ?? '?', firstPosition: kinesis.startSequenceNumber ?? '?', lastPosition: kinesis.endSequenceNumber ?? '?', batchSize: kinesis.batchSize ?? 0 };
  }
  const kafka = failure.KafkaBatchInfo;
  const single = kafka?.recordInfo?.offset;
  const eventKeys = Object.keys(failure.payload?.records ?? {});
  const infos = Object.entries(kafka?.recordsInfo ?? {});
  const sourcePartition = infos.length > 0 ? infos.map(([key]) => key).join(',') : (eventKeys.join(',') || '?');
  return {
    ...common,
    sourcePartition,
    firstPosition: single ?? infos[0]?.[1].firstRecordOffset ?? '?',
    lastPosition: single ?? infos[infos.length - 1]?.[1].lastRecordOffset ?? '?',
    batchSize: kafka?.batchSize ?? 0,
  };
}

function headerBytes(value: number[] | string): Buffer {
  // AWS's Kafka events carry header values as byte arrays; accept base64 text as well
  return Array.isArray(value) ? Buffer.from(value) : Buffer.from(value, 'base64');
}

/** The original records a failure record carries in `payload`, as produce input. */
export function replayRecordsOf(failure: FailureRecordJson): StreamRecordInput[] {
  const payload = failure.payload;
  if (!payload) return [];
  if (Array.isArray(payload.Records)) {
    return payload.Records.map((entry) => ({ key: entry.kinesis?.partitionKey ?? '', value: Buffer.from(entry.kinesis?.data ?? '', 'base64') }));
  }
  return Object.values(payload.records ?? {}).flat().map((entry) => {
    const headers: Record<string, Buffer> = {};
    for (const header of entry.headers ?? []) for (const [name, value] of Object.entries(header)) headers[name] = headerBytes(value);
    return {
      key: entry.key === undefined ? '' : Buffer.from(entry.key, 'base64').toString('utf8'),
      value: Buffer.from(entry.value ?? '', 'base64'),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
    };
  });
}

export interface ReplayReport {
  failureRecords: number;
  replayedRecords: number;
  dryRun: boolean;
  /** per destination partition, the last failure record read: pass it to --after next time */
  lastPositions: Record<string, string>;
}

export async function replayFailures(flags: { destination: string; to: string; dryRun?: boolean; after?: string }): Promise<ReplayReport> {
  const destination = parseStreamAddress(flags.destination);
  const target = parseStreamAddress(flags.to);
  const source = openStreamClient(destination, { clientId: 'sluice-dlq' });
  const sink = openStreamClient(target, { clientId: 'sluice-dlq' });
  try {
    const entries = await readFailureRecords(source, destination.stream, { after: flags.after });
    const withoutPayload = entries.filter((entry) => entry.failure.payload === undefined);
    if (withoutPayload.length > 0) {
      const first = withoutPayload[0]?.record;
      throw new SluiceError('OPERATION_INVALID', `${withoutPayload.length} of ${entries.length} failure records in "${destination.stream}" carry no records (first at ${first?.partition}/${first?.position}): they only say where the records were. Run the mapping with --include-records (DestinationConfig.OnFailure.IncludeRecords) to make failures replayable`);
    }
    const records = entries.flatMap((entry) => replayRecordsOf(entry.failure));
    const lastPositions: Record<string, string> = {};
    for (const { record } of entries) lastPositions[record.partition] = record.position;
    if (flags.dryRun !== true && records.length > 0) {
      await sink.describeStream(target.stream);
      // in chunks, so a large dead-letter stream is not held twice in one produce call
      for (let index = 0; index < records.length; index += 500) await sink.produce(target.stream, records.slice(index, index + 500));
    }
    return { failureRecords: entries.length, replayedRecords: records.length, dryRun: flags.dryRun === true, lastPositions };
  } finally {
    await Promise.all([source.close(), sink.close()]);
  }
}

export async function showFailures(flags: { destination: string; limit?: string }): Promise<FailureRecordSummary[]> {
  const limit = flags.limit === undefined ? 100 : Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new SluiceError('CONFIG_INVALID', `--limit must be a positive integer, got ${JSON.stringify(flags.limit)}`);
  const destination = parseStreamAddress(flags.destination);
  const client = openStreamClient(destination, { clientId: 'sluice-dlq' });
  try {
    return (await readFailureRecords(client, destination.stream, { limit })).map(summarizeFailure);
  } finally {
    await client.close();
  }
}

function summaryTable(rows: readonly FailureRecordSummary[]): string[][] {
  return [
    ['dlq partition', 'dlq position', 'condition', 'source partition', 'first', 'last', 'batch', 'invokes', 'records', 'time'],
    ...rows.map((row) => [row.destinationPartition, row.destinationPosition, row.condition, row.sourcePartition, row.firstPosition, row.lastPosition, String(row.batchSize), String(row.invokeCount), row.recordsIncluded ? 'included' : 'no', row.timestamp]),
  ];
}

export function registerDlqCommand(program: Command): void {
  const dlq = program.command('dlq').description('inspect an on-failure destination and replay the failed records');
  dlq.command('show')
    .description('list the failure records of an on-failure destination')
    .requiredOption('--destination <address>', 'the on-failure destination: kafka://host:port/topic or kinesis://host:port/stream')
    .option('--limit <n>', 'at most this many failure records', '100')
    .option('--json', 'print JSON instead of a table')
    .action(async (flags: { destination: string; limit?: string; json?: boolean }) => {
      const rows = await showFailures(flags);
      console.log(flags.json === true ? JSON.stringify(rows, null, 2) : rows.length === 0 ? 'no failure records' : formatTable(summaryTable(rows)));
    });
  dlq.command('replay')
    .description('send the failed records carried in failure records (mapping run with --include-records) to a stream')
    .requiredOption('--destination <address>', 'the on-failure destination holding the failure records')
    .requiredOption('--to <address>', 'where the records go, usually the mapping\'s source')
    .option('--after <position>', 'start after this failure record (a one-partition destination; the last position a previous replay printed)')
    .option('--dry-run', 'count what would be sent, send nothing')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', `
replay keeps no record of what it sent: without --after it reads the destination from its earliest
record, so running it twice sends the records twice.`)
    .action(async (flags: { destination: string; to: string; after?: string; dryRun?: boolean; json?: boolean }) => {
      const report = await replayFailures(flags);
      if (flags.json === true) console.log(JSON.stringify(report, null, 2));
      else {
        const verb = report.dryRun ? 'would replay' : 'replayed';
        const last = Object.entries(report.lastPositions).map(([partition, position]) => `${partition}:${position}`).join(', ');
        console.log(`${verb} ${report.replayedRecords} records from ${report.failureRecords} failure records to ${flags.to}${last ? ` (last failure records: ${last})` : ''}`);
      }
    });
}
