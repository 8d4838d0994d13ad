/**
 * produce() on Kinesis: PutRecords in requests that respect the service limits, and retry of
 * only the entries a partial failure left behind.
 *
 * Limits (Kinesis developer guide, PutRecords): at most 500 records and 5 MiB per request,
 * partition keys included; at most 1 MiB per record (data blob + partition key); partition
 * keys are 1..256 characters. Every record is checked before anything is sent, so a bad
 * record fails the call without writing a prefix of the batch.
 *
 * Requests go out one after the other: records of one key in two requests then reach their
 * shard in produce order. A partial failure is retried with full-jitter backoff; like the
 * KPL, a retried record lands after any later record of its key that the failed request did
 * write, so per-key order holds except across a partial failure (AWS: "PutRecords does not
 * guarantee the ordering of records" for exactly this reason).
 */
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { ERROR_CODES, SluiceError } from '../../core/errors';
import { backoffDelay, sleep } from '../../core/retry';
import type { ProducedRecord, StreamRecordInput } from '../streamClient';
import { entryErrorCode } from './kinesisErrors';
import { encodeKinesisData } from './kinesisEnvelope';
import { kinesisCall } from './kinesisSdk';
import type { KinesisCallDeps } from './kinesisShards';

export const MAX_RECORDS_PER_REQUEST = 500;
export const MAX_BYTES_PER_REQUEST = 5 * 1024 * 1024;
export const MAX_BYTES_PER_RECORD = 1024 * 1024;
export const MAX_PARTITION_KEY_LENGTH = 256;

interface PreparedRecord {
  entry: PutRecordsRequestEntry;
  bytes: number;
}

function prepare(record: StreamRecordInput, index: number): PreparedRecord {
  const { key } = record;
  if (typeof key !== 'string' || key.length < 1 || key.length > MAX_PARTITION_KEY_LENGTH) {
    throw new SluiceError('RECORD_INVALID', `record ${index}: a Kinesis partition key must be 1..${MAX_PARTITION_KEY_LENGTH} characters, got ${typeof key === 'string' ? key.length : typeof key}`);
  }
  if (!Buffer.isBuffer(record.value)) throw new SluiceError('RECORD_INVALID', `record ${index}: value must be a Buffer`);
  const data = encodeKinesisData(record.value, record.headers, record.timestamp);
  const bytes = data.length + Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_BYTES_PER_RECORD) {
    throw new SluiceError('RECORD_TOO_LARGE', `record ${index} (key "${key}") is ${bytes} bytes with its partition key and header envelope; Kinesis takes at most ${MAX_BYTES_PER_RECORD}`);
  }
  return { entry: { PartitionKey: key, Data: data }, bytes };
}

/** Index ranges [start, end) of requests of at most 500 records and 5 MiB. */
export function planRequests(sizes: readonly number[]): Array<[number, number]> {
  const requests: Array<[number, number]> = [];
  let start = 0;
  let bytes = 0;
  sizes.forEach((size, index) => {
    if (index > start && (index - start === MAX_RECORDS_PER_REQUEST || bytes + size > MAX_BYTES_PER_REQUEST)) {
      requests.push([start, index]);
      start = index;
      bytes = 0;
    }
    bytes += size;
  });
  if (sizes.length > start) requests.push([start, sizes.length]);
  return requests;
}

export async function putRecordsInBatches(deps: KinesisCallDeps, stream: string, records: readonly StreamRecordInput[]): Promise<ProducedRecord[]> {
  const prepared = records.map(prepare);
  const results = new Array<ProducedRecord>(records.length);
  for (const [start, end] of planRequests(prepared.map((record) => record.bytes))) {
    await putRequest(deps, stream, prepared, start, end, results);
  }
  return results;
}

/** Sends records [start, end), then again only the ones Kinesis refused, until all are in or retries run out. */
async function putRequest(deps: KinesisCallDeps, stream: string, prepared: readonly PreparedRecord[], start: number, end: number, results: ProducedRecord[]): Promise<void> {
  let pending = Array.from({ length: end - start }, (_, offset) => start + offset);
  for (let attempt = 0; ; attempt++) {
    const entries = pending.map((index) => (prepared[index] as PreparedRecord).entry);
    // Whole-request errors (throttling, connection) are retried inside kinesisCall.
    const response = await kinesisCall({ operation: 'PutRecords', stream }, deps.retry, deps.logger, () => deps.sdk.send(new PutRecordsCommand({ StreamName: stream, Records: entries })));
    const answers = response.Records ?? [];
    if (answers.length !== pending.length) {
      throw new SluiceError('PRODUCE_FAILED', `Kinesis PutRecords on stream "${stream}" answered ${answers.length} entries for ${pending.length} records`);
    }
    const failed: number[] = [];
    let lastError = '';
    let retriable = true;
    answers.forEach((answer, position) => {
      const index = pending[position] as number;
      if (answer.ErrorCode === undefined && answer.ShardId !== undefined && answer.SequenceNumber !== undefined) {
        results[index] = { partition: answer.ShardId, position: answer.SequenceNumber };
        return;
      }
      failed.push(index);
      const code = entryErrorCode(answer.ErrorCode ?? 'InternalFailure');
      if (!ERROR_CODES[code].retriable) retriable = false;
      lastError = `${answer.ErrorCode ?? 'no error code'}: ${answer.ErrorMessage ?? ''}`;
    });
    if (failed.length === 0) return;
    if (!retriable || attempt >= deps.retry.retries) {
      throw new SluiceError(retriable ? 'THROUGHPUT_EXCEEDED' : 'PRODUCE_FAILED', `Kinesis PutRecords on stream "${stream}": ${failed.length} of ${end - start} records not written after ${attempt + 1} attempts (${lastError}); the others were written`, { retriable });
    }
    const delayMs = backoffDelay(attempt, deps.retry);
    deps.logger.debug({ stream, failed: failed.length, attempt: attempt + 1, delayMs, lastError }, 'retrying the failed entries of a partial PutRecords failure');
    await sleep(delayMs);
    pending = failed;
  }
}
