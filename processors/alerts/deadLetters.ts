/**
 * Dead letters of the alerts processor, as Avro DeadLetter records on $SLUICE_PROCESSOR_DLQ:
 * input records it cannot use (reason from the codec, or invalid_reading / invalid_aggregate),
 * and webhook notifications that failed after the last retry (webhook_failed, with the body
 * that was not delivered as `original`). Without a dead-letter stream they fail the batch with
 * a ConfigError instead, so nothing is dropped silently.
 */
import { ConfigError } from '../../core/errors';
import type { AvroCodec } from '../../schemas/avroCodec';
import type { DeadLetter } from '../../schemas/records';
import { SUBJECTS } from '../../schemas/sluiceSchemas';
import type { StreamRecordInput } from '../../streams/streamClient';
import { sharedStream } from '../shared/processorResources';
import type { ProcessorRecord } from '../shared/streamRecords';

export interface BadRecord {
  record: ProcessorRecord;
  reasonCode: string;
  message: string;
}

export interface DeadLetterSink {
  codec: AvroCodec;
  /** stream address; undefined when $SLUICE_PROCESSOR_DLQ is not set */
  address: string | undefined;
  now?: () => number;
}

async function send(sink: DeadLetterSink, letters: Array<{ key: string; letter: DeadLetter }>, what: string): Promise<void> {
  if (letters.length === 0) return;
  if (sink.address === undefined) throw new ConfigError('$SLUICE_PROCESSOR_DLQ', `is not set, so ${what} cannot be dead-lettered`);
  const records: StreamRecordInput[] = [];
  for (const { key, letter } of letters) {
    records.push({ key, value: await sink.codec.encode(SUBJECTS.deadLetter, letter), timestamp: letter.firstSeenAt, headers: { 'sluice-reason': Buffer.from(letter.reasonCode) } });
  }
  const target = sharedStream(sink.address);
  await target.client.produce(target.stream, records);
}

export async function deadLetterRecords(sink: DeadLetterSink, processor: string, bad: readonly BadRecord[]): Promise<void> {
  const now = sink.now?.() ?? Date.now();
  const letters = bad.map(({ record, reasonCode, message }) => {
    const colon = record.scope.indexOf(':');
    const letter: DeadLetter = {
      reasonCode,
      message,
      source: { kind: colon < 0 ? 'unknown' : record.scope.slice(0, colon), address: record.scope },
      original: record.data,
      firstSeenAt: now,
      attempts: 1,
      headers: { processor, scope: record.scope, position: record.position },
    };
    return { key: record.key === '' ? 'unknown' : record.key, letter };
  });
  const first = bad[0];
  await send(sink, letters, first ? `${bad.length} bad record(s) (first: ${first.record.scope} at ${first.record.position}: ${first.reasonCode}: ${first.message})` : '');
}

export interface WebhookFailure {
  url: string;
  notificationId: string;
  deviceId: string;
  body: string;
  attempts: number;
  /** the last HTTP status, or undefined when the request never got an answer */
  status: number | undefined;
  message: string;
}

export async function deadLetterWebhook(sink: DeadLetterSink, failure: WebhookFailure): Promise<void> {
  const letter: DeadLetter = {
    reasonCode: 'webhook_failed',
    message: failure.message,
    source: { kind: 'webhook', address: failure.url },
    original: Buffer.from(failure.body, 'utf8'),
    firstSeenAt: sink.now?.() ?? Date.now(),
    attempts: failure.attempts,
    headers: { processor: 'alerts', notificationId: failure.notificationId, url: failure.url, status: failure.status === undefined ? 'none' : String(failure.status) },
  };
  await send(sink, [{ key: failure.deviceId, letter }], `webhook notification ${failure.notificationId} to ${failure.url} (${failure.message})`);
}
