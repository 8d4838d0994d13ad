/**
 * What the dead-letter browser shows of one record, and where replay would send it. Three
 * streams hold dead letters, in two formats:
 *
 * - `telemetry-dlq` (ingest) and `processor-dlq`: Avro DeadLetter records (reason code, message,
 *   where the input came from, the original bytes).
 * - `pipeline-failures`: the on-failure records of the event source mappings, JSON shaped like
 *   AWS's (cli/commands/dlq.ts reads them), carrying the failed records when IncludeRecords is on.
 *
 * A record that is none of these still becomes an entry (reason `undecodable`): the browser
 * shows what is there, never drops it.
 */
import { errorMessage } from '../../core/errors';
import { CodecError } from '../../schemas/schemaErrors';
import type { DeadLetter } from '../../schemas/records';
import type { StreamRecord, StreamRecordInput } from '../../streams/streamClient';
import { replayRecordsOf, summarizeFailure } from '../../cli/commands/dlq';
import type { FailureRecordEntry } from '../../cli/commands/dlq';
import type { DeadLetterEntry, DeadLetterKind } from './dashboardSources';

export const PREVIEW_CHARS = 160;

/** Where replay sends a dead letter's input. */
export type ReplayPlan =
  | { kind: 'mqtt'; topic: string; payload: Buffer }
  | { kind: 'stream'; stream: string; records: StreamRecordInput[] }
  | { kind: 'refused'; reason: string };

export interface DecodedDeadLetter {
  entry: DeadLetterEntry;
  plan: ReplayPlan;
}

export function deadLetterId(record: Pick<StreamRecord, 'stream' | 'partition' | 'position'>): string {
  return `${record.stream}/${record.partition}/${record.position}`;
}

/** Stream, partition and position of an id; undefined when it is not one (stream and partition names hold no '/'). */
export function parseDeadLetterId(id: string): { stream: string; partition: string; position: string } | undefined {
  const match = /^([^/]+)\/([^/]+)\/(\d+)$/.exec(id);
  if (!match) return undefined;
  return { stream: match[1] as string, partition: match[2] as string, position: match[3] as string };
}

/** Printable text stays text (control characters escaped); anything else is shown as hex. Never longer than `chars` plus an ellipsis. */
export function payloadPreview(bytes: Uint8Array, chars = PREVIEW_CHARS): string {
  const head = Buffer.from(bytes.subarray(0, chars * 4));
  const text = head.toString('utf8');
  const printable = [...text].filter((c) => c === '\uFFFD' || /[\p{C}]/u.test(c)).length <= text.length / 10;
  let preview: string;
  if (printable && text.length > 0) {
    // eslint-disable-next-line no-control-regex -- escaping control characters is the point
    preview = text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  } else {
    preview = Buffer.from(bytes.subarray(0, Math.ceil(chars / 2))).toString('hex');
  }
  const truncated = preview.length > chars || bytes.length > head.length;
  return truncated ? `${[...preview].slice(0, chars).join('')}…` : preview;
}

/**
 * The stream a processor read, from a DeadLetter's source address: the scope of
 * processors/shared/streamRecords.ts (`kafka:<topic>-<partition>`, `kinesis:<stream>/<shardId>`).
 */
export function streamOfScope(scope: string): string | undefined {
  const kafka = /^kafka:(.+)-\d+$/.exec(scope);
  if (kafka) return kafka[1];
  const kinesis = /^kinesis:([^/]+)\/.+$/.exec(scope);
  return kinesis?.[1];
}

function avroEntry(record: StreamRecord, kind: DeadLetterKind, deadLetter: DeadLetter): DecodedDeadLetter {
  const id = deadLetterId(record);
  const base = {
    id,
    kind,
    stream: record.stream,
    reason: deadLetter.reasonCode,
    message: deadLetter.message,
    time: deadLetter.firstSeenAt,
    payloadPreview: payloadPreview(deadLetter.original),
    payloadBytes: deadLetter.original.length,
  };
  if (kind === 'ingest') {
    const topic = deadLetter.source.kind === 'mqtt' ? deadLetter.source.address : '';
    const source = `${deadLetter.source.kind} ${deadLetter.source.address}`;
    if (topic === '') {
      const reason = `came in over ${deadLetter.source.kind}, not MQTT: replay it from its sender`;
      return { entry: { ...base, source, replayRefusal: reason, replayTarget: null }, plan: { kind: 'refused', reason } };
    }
    return { entry: { ...base, source, replayRefusal: null, replayTarget: `mqtt ${topic}` }, plan: { kind: 'mqtt', topic, payload: deadLetter.original } };
  }
  const processor = deadLetter.headers?.processor;
  const source = `${processor ? `${processor} ` : ''}${deadLetter.source.address}${deadLetter.headers?.position ? ` @ ${deadLetter.headers.position}` : ''}`;
  const stream = streamOfScope(deadLetter.source.address);
  if (!stream) {
    const reason = `source "${deadLetter.source.address}" names no stream`;
    return { entry: { ...base, source, replayRefusal: reason, replayTarget: null }, plan: { kind: 'refused', reason } };
  }
  return {
    entry: { ...base, source, replayRefusal: null, replayTarget: stream },
    plan: { kind: 'stream', stream, records: [{ key: record.key === '' ? 'unknown' : record.key, value: deadLetter.original }] },
  };
}

interface FailureWithSource {
  requestContext?: { functionArn?: string };
  KinesisBatchInfo?: { streamArn?: string };
  payload?: { Records?: unknown[]; records?: Record<string, Array<{ topic?: string }>> };
}

/** The stream the failed records were read from. */
function failureSourceStream(failure: FailureWithSource): string | undefined {
  const arn = failure.KinesisBatchInfo?.streamArn;
  if (arn) return arn.slice(arn.lastIndexOf('/') + 1);
  for (const records of Object.values(failure.payload?.records ?? {})) {
    const topic = records[0]?.topic;
    if (topic) return topic;
  }
  return undefined;
}

function failureEntry(record: StreamRecord): DecodedDeadLetter {
  const failure = JSON.parse(record.value.toString('utf8')) as FailureRecordEntry['failure'] & FailureWithSource;
  if (typeof failure !== 'object' || failure === null || !('requestContext' in failure)) throw new Error('not an on-failure record (no requestContext)');
  const summary = summarizeFailure({ record, failure });
  const records = replayRecordsOf(failure);
  const stream = failureSourceStream(failure);
  const first = records[0];
  const arn = failure.requestContext?.functionArn;
  const functionName = arn ? arn.slice(arn.lastIndexOf(':') + 1) : undefined;
  const entry: DeadLetterEntry = {
    id: deadLetterId(record),
    kind: 'failure',
    stream: record.stream,
    reason: summary.condition,
    message: `batch of ${summary.batchSize}, invoked ${summary.invokeCount} time(s)`,
    time: Date.parse(summary.timestamp) || record.timestamp,
    source: `${functionName ? `${functionName} ← ` : ''}${stream ?? '?'} ${summary.sourcePartition} ${summary.firstPosition}..${summary.lastPosition}`,
    payloadPreview: first ? `${records.length} record(s); first key ${first.key}: ${payloadPreview(first.value, PREVIEW_CHARS - 40)}` : 'records not included',
    payloadBytes: records.reduce((sum, input) => sum + input.value.length, 0),
    replayRefusal: null,
    replayTarget: stream ?? null,
  };
  let refusal: string | undefined;
  if (!summary.recordsIncluded) refusal = 'the failure record does not carry the records (run the mapping with IncludeRecords)';
  else if (!stream) refusal = 'the failure record does not say which stream the records came from';
  if (refusal) return { entry: { ...entry, replayRefusal: refusal, replayTarget: null }, plan: { kind: 'refused', reason: refusal } };
  return { entry, plan: { kind: 'stream', stream: stream as string, records } };
}

function undecodable(record: StreamRecord, kind: DeadLetterKind, error: unknown): DecodedDeadLetter {
  const reason = `cannot be decoded: ${errorMessage(error)}`;
  return {
    entry: {
      id: deadLetterId(record),
      kind,
      stream: record.stream,
      reason: 'undecodable',
      message: reason,
      time: record.timestamp,
      source: `key ${record.key}`,
      payloadPreview: payloadPreview(record.value),
      payloadBytes: record.value.length,
      replayRefusal: reason,
      replayTarget: null,
    },
    plan: { kind: 'refused', reason },
  };
}

class NotADeadLetter extends Error {}

/** Decodes one dead-letter record; `decodeAvro` is the codec's decode (the registry holds the writer schema). */
export async function decodeDeadLetter(record: StreamRecord, kind: DeadLetterKind, decodeAvro: (bytes: Buffer) => Promise<unknown>): Promise<DecodedDeadLetter> {
  if (kind === 'failure') {
    try {
      return failureEntry(record);
    } catch (error) {
      return undecodable(record, kind, error);
    }
  }
  try {
    const decoded = (await decodeAvro(record.value)) as DeadLetter | null;
    if (typeof decoded?.reasonCode !== 'string' || !Buffer.isBuffer(decoded.original)) throw new NotADeadLetter('not a DeadLetter record');
    return avroEntry(record, kind, decoded);
  } catch (error) {
    // only bad bytes make an undecodable entry; a registry that does not answer is not the
    // record's fault, and the caller reads the record again later
    if (error instanceof CodecError || error instanceof NotADeadLetter) return undecodable(record, kind, error);
    throw error;
  }
}
