/**
 * Schema JSON -> avsc Type, with the one set of avsc options every part of sluice uses, plus the
 * canonical text the registry stores and deduplicates by.
 */
import { createHash } from 'node:crypto';
import { Type } from 'avsc';
import { errorMessage } from '../core/errors';
import { SchemaRegistryError } from './schemaErrors';

/**
 * The longs avsc carries exactly (it reads longs as JS numbers). Above: avsc's own bound. Below:
 * avsc writes a negative long under -2^52 with the wrong sign (its zig-zag 2|n| - 1 is odd and
 * past 2^53, so it rounds to an even number: -4503599627370497 comes back as 4503599627370496),
 * and reads such values back wrong too. The codec refuses both on encode and on decode.
 */
export const AVRO_LONG_MIN = -(2 ** 52);
export const AVRO_LONG_MAX = 9007199254740990;

/** An Avro schema as parsed JSON: a primitive name, a union (array) or a complex type (object). */
export type AvroSchema = string | readonly unknown[] | { readonly [key: string]: unknown };

type ForSchemaInput = Parameters<typeof Type.forSchema>[0];

/**
 * wrapUnions 'auto': ["null", X] reads as X | null (what our TS types say); only ambiguous unions
 * are wrapped. No logicalTypes: timestamp-millis stays a number of epoch ms (see records.ts).
 */
function typeOptions() {
  // A fresh object each time: avsc stores its registry of named types in the options it is given.
  // noAnonymousTypes: the Avro spec requires names on records, enums and fixed; avsc would allow none.
  return { wrapUnions: 'auto', noAnonymousTypes: true } as const;
}

/** Throws SchemaRegistryError(SCHEMA_INVALID) naming `context` (a subject or file) when avsc refuses it. */
export function createAvroType(schema: AvroSchema, context?: string, subject?: string): Type {
  try {
    return Type.forSchema(schema as ForSchemaInput, typeOptions());
  } catch (error) {
    const where = context === undefined ? '' : `${context}: `;
    throw new SchemaRegistryError('SCHEMA_INVALID', subject, `${where}invalid Avro schema: ${errorMessage(error)}`, error);
  }
}

/**
 * JSON with object keys sorted, so the same schema formatted differently gets the same text (and
 * the same id). We keep the full schema, not avsc's schema() output: that drops logicalType and
 * doc, which readers in other languages need.
 */
export function canonicalSchemaText(schema: AvroSchema): string {
  return JSON.stringify(sortKeys(schema));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      Object.defineProperty(sorted, key, { value: sortKeys((value as Record<string, unknown>)[key]), enumerable: true, writable: true, configurable: true });
    }
    return sorted;
  }
  return value;
}

export function schemaFingerprint(schemaText: string): string {
  return createHash('sha256').update(schemaText).digest('hex');
}

/** Parses schema text (a .avsc file's content); errors name `context`. */
export function parseSchemaText(text: string, context: string): AvroSchema {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SchemaRegistryError('SCHEMA_INVALID', undefined, `${context}: schema is not JSON: ${errorMessage(error)}`, error);
  }
  if (typeof parsed === 'string' || Array.isArray(parsed) || (parsed !== null && typeof parsed === 'object')) return parsed as AvroSchema;
  throw new SchemaRegistryError('SCHEMA_INVALID', undefined, `${context}: a schema is a type name, a union array or an object, got ${JSON.stringify(parsed)}`);
}
