/**
 * Records the storage processor cannot use go to $SLUICE_PROCESSOR_DLQ as Avro DeadLetter
 * records (reason code, message, the original bytes, where they came from), keyed like their
 * input so one device's dead letters stay in order. They are sent after the batch's good
 * records are durable; a retried batch may send them again (at-least-once, like everything on
 * a stream). Without a dead-letter stream a bad record fails its batch with a ConfigError, so
 * the runtime's retries and on-failure destination see it: never a silent drop.
 */
import { ConfigError } from '../../core/errors';
import type { AvroCodec } from '../../schemas/avroCodec';
import type { DeadLetter } from '../../schemas/records';
import { SUBJECTS } from '../../schemas/sluiceSchemas';
import type { StreamRecordInput } from '../../streams/streamClient';
import { sharedStream } from '../shared/processorResources';
import type { BadRecord } from './decodeBatch';

export async function deadLetterRecord(codec: AvroCodec, processor: string, bad: BadRecord, now: number): Promise<StreamRecordInput> {
  const { record } = bad;
  const colon = record.scope.indexOf(':');
  const deadLetter: DeadLetter = {
    reasonCode: bad.reasonCode,
    message: bad.message,
    source: { kind: colon < 0 ? 'unknown' : record.scope.slice(0, colon), address: record.scope },
    original: record.data,
    firstSeenAt: now,
    attempts: 1,
    headers: { processor, scope: record.scope, position: record.position },
  };
  return {
    key: record.key === '' ? 'unknown' : record.key,
    value: await codec.encode(SUBJECTS.deadLetter, deadLetter),
    timestamp: now,
    headers: { 'sluice-reason': Buffer.from(bad.reasonCode) },
  };
}

export async function sendDeadLetters(codec: AvroCodec, address: string | undefined, processor: string, bad: readonly BadRecord[]): Promise<void> {
  const first = bad[0];
  if (!first) return;
  if (address === undefined) {
    throw new ConfigError('$SLUICE_PROCESSOR_DLQ', `is not set, so ${bad.length} record(s) that cannot be stored cannot be dead-lettered (first: ${first.record.scope} at ${first.record.position}: ${first.reasonCode}: ${first.message})`);
  }
  const now = Date.now();
  const records: StreamRecordInput[] = [];
  for (const item of bad) records.push(await deadLetterRecord(codec, processor, item, now));
  const target = sharedStream(address);
  await target.client.produce(target.stream, records);
}
