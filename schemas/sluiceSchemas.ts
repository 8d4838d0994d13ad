/**
 * sluice's own schemas (schemas/avro/*.avsc) and their subjects. Subjects follow Confluent's
 * RecordNameStrategy (the record's full name), so one topic or stream may carry several record
 * types and the subject does not depend on where the record travels.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../core/errors';
import { readProjectAsset } from '../core/projectAssets';
import type { AvroSchema } from './avroSchema';
import { parseSchemaText } from './avroSchema';
import type { Aggregate, Alert, DeadLetter, EnrichedReading, TelemetryReading } from './records';
import { SchemaRegistryError } from './schemaErrors';
import type { SchemaRegistry } from './schemaRegistry';

export const SUBJECTS = {
  telemetryReading: 'dev.sluice.TelemetryReading',
  aggregate: 'dev.sluice.Aggregate',
  alert: 'dev.sluice.Alert',
  deadLetter: 'dev.sluice.DeadLetter',
  enrichedReading: 'dev.sluice.EnrichedReading',
} as const;

export type SluiceSubject = (typeof SUBJECTS)[keyof typeof SUBJECTS];

/** The TypeScript shape of each subject's records. */
export interface SluiceRecordBySubject {
  'dev.sluice.TelemetryReading': TelemetryReading;
  'dev.sluice.Aggregate': Aggregate;
  'dev.sluice.Alert': Alert;
  'dev.sluice.DeadLetter': DeadLetter;
  'dev.sluice.EnrichedReading': EnrichedReading;
}

/** In registration order: a fresh registry gives them ids 1..5 (the golden fixtures rely on it; new subjects go last). */
export const SLUICE_SUBJECTS: readonly SluiceSubject[] = [SUBJECTS.telemetryReading, SUBJECTS.aggregate, SUBJECTS.alert, SUBJECTS.deadLetter, SUBJECTS.enrichedReading];

export const SCHEMA_DIR = path.join(__dirname, 'avro');

/** Reads and parses one .avsc file; errors name the file. */
export function loadSchemaFile(filePath: string): AvroSchema {
  let text: string;
  try {
    text = readFileSync(filePath, 'utf8');
  } catch (error) {
    throw new SchemaRegistryError('SCHEMA_INVALID', undefined, `${filePath}: cannot read schema file: ${errorMessage(error)}`, error);
  }
  return parseSchemaText(text, filePath);
}

/** The schema of one of sluice's subjects, from schemas/avro/<RecordName>.avsc. */
export function loadSluiceSchema(subject: SluiceSubject): AvroSchema {
  const recordName = subject.slice(subject.lastIndexOf('.') + 1);
  const relative = `schemas/avro/${recordName}.avsc`;
  let text: string;
  try {
    text = readProjectAsset(relative);
  } catch (error) {
    throw new SchemaRegistryError('SCHEMA_INVALID', undefined, `${relative}: cannot read schema file: ${errorMessage(error)}`, error);
  }
  return parseSchemaText(text, path.join(SCHEMA_DIR, `${recordName}.avsc`));
}

/** Registers every sluice schema (idempotent) and returns the ids by subject. */
export async function registerSluiceSchemas(registry: SchemaRegistry): Promise<Record<SluiceSubject, number>> {
  const ids: Partial<Record<SluiceSubject, number>> = {};
  for (const subject of SLUICE_SUBJECTS) {
    ids[subject] = await registry.register(subject, loadSluiceSchema(subject));
  }
  return ids as Record<SluiceSubject, number>;
}
