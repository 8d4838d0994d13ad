/**
 * The transform function, with its connections passed in (handler.ts builds them from the
 * environment; tests build them directly).
 *
 * One invocation:
 *  1. decode every record (Avro, Confluent wire format) and check it; what cannot be used
 *     becomes a dead letter with its reason (transformDeadLetters.ts);
 *  2. look up the batch's devices in the registry (one query for what the cache lacks);
 *  3. enrich: registry fields, units normalized, derived metrics; encode EnrichedReading;
 *  4. duplicates: ask the window which (deviceId, seq) were emitted, and from which record;
 *  5. produce the enriched readings in one call and the dead letters in one call;
 *  6. only then record the emitted readings in the window.
 *
 * Correct under at-least-once delivery: a failure anywhere (Redis, PostgreSQL, the registry,
 * a stream) throws, so the runtime retries the batch and nothing is acknowledged unproduced.
 * Step 6 after step 5 means the window never claims a reading that is not durable downstream;
 * a retry of the same records is recognised by their position and emitted again.
 */
import type { Logger } from 'pino';
import { silentLogger } from '../../core/logger';
import type { AvroCodec } from '../../schemas/avroCodec';
import type { EnrichedReading, TelemetryReading } from '../../schemas/records';
import { CodecError } from '../../schemas/schemaErrors';
import { SUBJECTS } from '../../schemas/sluiceSchemas';
import type { StreamClient, StreamRecordInput } from '../../streams/streamClient';
import type { RegisteredDevice } from '../registry/deviceRegistration';
import type { ProcessorEvent, ProcessorRecord } from '../shared/streamRecords';
import { recordsOf } from '../shared/streamRecords';
import type { DedupeVerdict } from './dedupeVerdicts';
import { dedupeVerdicts } from './dedupeVerdicts';
import type { WindowEntry } from './dedupeWindow';
import { claimOf } from './dedupeWindow';
import { enrichReading } from './readingEnrichment';
import { readingProblem } from './readingValidation';
import { decodeTelemetry } from './telemetryDecoding';
import type { TransformDeadLetter, TransformDeadLetterReason } from './transformDeadLetters';
import { transformDeadLetter } from './transformDeadLetters';

export type UnknownDevicePolicy = 'pass' | 'dead-letter';
export const UNKNOWN_DEVICE_POLICIES: readonly UnknownDevicePolicy[] = ['pass', 'dead-letter'];

export interface StreamTarget {
  client: Pick<StreamClient, 'produce'>;
  stream: string;
}

export interface TransformDeps {
  codec: AvroCodec;
  window: {
    emittedClaims(entries: readonly WindowEntry[]): Promise<(string | null)[]>;
    markEmitted(entries: ReadonlyArray<WindowEntry & { claim: string }>): Promise<number>;
  };
  devices: { lookup(deviceIds: Iterable<string>): Promise<Map<string, RegisteredDevice | null>> };
  enriched: StreamTarget;
  deadLetters: StreamTarget;
  unknownDevices: UnknownDevicePolicy;
  now?: () => number;
  logger?: Logger;
}

/** What one invocation did. The runtime reads only batchItemFailures (always empty: a failure throws). */
export interface TransformResult {
  batchItemFailures: [];
  records: number;
  /** enriched readings produced, redeliveries included */
  emitted: number;
  /** emitted again because their own earlier delivery had been emitted (or may have been) */
  redelivered: number;
  duplicatesDropped: number;
  deadLettered: number;
  deadLettersByReason: Partial<Record<TransformDeadLetterReason, number>>;
}

export type TransformHandler = (event: ProcessorEvent) => Promise<TransformResult>;

interface Candidate {
  record: ProcessorRecord;
  reading: EnrichedReading;
  value: Buffer;
  claim: string;
}

export function createTransformHandler(deps: TransformDeps): TransformHandler {
  const now = deps.now ?? Date.now;
  const logger = deps.logger ?? silentLogger;

  async function decodeAll(records: readonly ProcessorRecord[], deadLetters: TransformDeadLetter[]): Promise<Array<{ record: ProcessorRecord; reading: TelemetryReading }>> {
    const valid: Array<{ record: ProcessorRecord; reading: TelemetryReading }> = [];
    for (const record of records) {
      const decoded = await decodeTelemetry(deps.codec, record.data);
      if (!decoded.ok) {
        deadLetters.push(transformDeadLetter(record, decoded.reason, decoded.message, { codecReason: decoded.codecReason }));
        continue;
      }
      const problem = readingProblem(decoded.reading);
      if (problem !== undefined) {
        deadLetters.push(transformDeadLetter(record, 'invalid_reading', problem, { deviceId: decoded.reading.deviceId || undefined }));
        continue;
      }
      valid.push({ record, reading: decoded.reading });
    }
    return valid;
  }

  async function enrichAll(valid: ReadonlyArray<{ record: ProcessorRecord; reading: TelemetryReading }>, deadLetters: TransformDeadLetter[]): Promise<Candidate[]> {
    const devices = await deps.devices.lookup(valid.map(({ reading }) => reading.deviceId));
    const transformTime = now();
    const candidates: Candidate[] = [];
    for (const { record, reading } of valid) {
      const device = devices.get(reading.deviceId) ?? null;
      if (device === null && deps.unknownDevices === 'dead-letter') {
        deadLetters.push(transformDeadLetter(record, 'unknown_device', `device "${reading.deviceId}" is not in the device registry (SLUICE_UNKNOWN_DEVICES=dead-letter)`, { deviceId: reading.deviceId }));
        continue;
      }
      const enriched = enrichReading(reading, device, transformTime);
      let value: Buffer;
      try {
        value = await deps.codec.encode(SUBJECTS.enrichedReading, enriched);
      } catch (error) {
        // invalid_value is this reading's fault; an unregistered subject or a registry outage is not.
        if (!(error instanceof CodecError) || error.reason !== 'invalid_value') throw error;
        deadLetters.push(transformDeadLetter(record, 'invalid_reading', error.message, { deviceId: reading.deviceId }));
        continue;
      }
      candidates.push({ record, reading: enriched, value, claim: claimOf(record.scope, record.position) });
    }
    return candidates;
  }

  async function produce(target: StreamTarget, records: StreamRecordInput[]): Promise<void> {
    if (records.length > 0) await target.client.produce(target.stream, records);
  }

  return async function transform(event: ProcessorEvent): Promise<TransformResult> {
    const records = recordsOf(event);
    const deadLetters: TransformDeadLetter[] = [];
    const candidates = await enrichAll(await decodeAll(records, deadLetters), deadLetters);

    const entries = candidates.map(({ reading, claim }) => ({ deviceId: reading.deviceId, seq: reading.seq, claim }));
    const verdicts: DedupeVerdict[] = dedupeVerdicts(entries, await deps.window.emittedClaims(entries));
    const emitted = candidates.filter((_, index) => verdicts[index] !== 'duplicate');
    const producedAt = now();

    const deadLetterRecords: StreamRecordInput[] = [];
    for (const dead of deadLetters) {
      const value = await deps.codec.encode(SUBJECTS.deadLetter, dead.deadLetter);
      deadLetterRecords.push({ key: dead.key, value, timestamp: producedAt, headers: { 'sluice-reason': Buffer.from(dead.reason) } });
    }
    await Promise.all([
      produce(deps.enriched, emitted.map((candidate) => ({ key: candidate.reading.deviceId, value: candidate.value, timestamp: producedAt }))),
      produce(deps.deadLetters, deadLetterRecords),
    ]);
    // After the produce only: a claim in the window must mean "durable downstream".
    await deps.window.markEmitted(entries.filter((_, index) => verdicts[index] === 'new'));

    const deadLettersByReason: TransformResult['deadLettersByReason'] = {};
    for (const dead of deadLetters) deadLettersByReason[dead.reason] = (deadLettersByReason[dead.reason] ?? 0) + 1;
    const result: TransformResult = {
      batchItemFailures: [],
      records: records.length,
      emitted: emitted.length,
      redelivered: verdicts.filter((verdict) => verdict === 'redelivery').length,
      duplicatesDropped: verdicts.filter((verdict) => verdict === 'duplicate').length,
      deadLettered: deadLetters.length,
      deadLettersByReason,
    };
    logger.debug(result, 'transform batch done');
    return result;
  };
}
