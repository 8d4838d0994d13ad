import { SluiceError } from '../core/errors';

/**
 * Why bytes could not be decoded or a value could not be encoded. Machine-readable: ingest and the
 * runtime put it into DeadLetter.reasonCode as is.
 */
export const DECODE_REASONS = [
  'empty', // zero bytes
  'bad_magic', // first byte is not the Confluent magic byte 0
  'truncated', // ends inside the 5-byte header or inside the Avro body
  'unknown_schema', // the schema id in the header is not in the registry
  'invalid_body', // the body is not a valid encoding for the writer schema
  'trailing_bytes', // the body decodes but bytes are left over
  'incompatible_reader', // the reader schema cannot read data written with the writer schema
] as const;

export const ENCODE_REASONS = [
  'unknown_subject', // no schema registered under the subject
  'unknown_schema', // no schema with that id
  'invalid_value', // the value does not match the schema (see `paths`)
] as const;

export type DecodeReason = (typeof DECODE_REASONS)[number];
export type EncodeReason = (typeof ENCODE_REASONS)[number];
export type CodecReason = DecodeReason | EncodeReason;

export class CodecError extends SluiceError {
  readonly reason: CodecReason;
  /** For invalid_value: the dotted paths of the offending fields (`location.lat`, `metrics.temp`). */
  readonly paths: readonly string[];
  /** The schema id from the header, when the header could be read. */
  readonly schemaId: number | undefined;

  constructor(
    operation: 'encode' | 'decode',
    reason: CodecReason,
    message: string,
    details: { paths?: readonly string[]; schemaId?: number; cause?: unknown } = {},
  ) {
    super(operation === 'encode' ? 'ENCODE_FAILED' : 'DECODE_FAILED', message, { cause: details.cause });
    this.name = 'CodecError';
    this.reason = reason;
    this.paths = details.paths ?? [];
    this.schemaId = details.schemaId;
  }
}

export function isCodecError(error: unknown, reason?: CodecReason): error is CodecError {
  return error instanceof CodecError && (reason === undefined || error.reason === reason);
}

/** A schema that cannot be parsed, or a change a registry subject refuses. */
export class SchemaRegistryError extends SluiceError {
  readonly subject: string | undefined;

  constructor(code: 'SCHEMA_INVALID' | 'SCHEMA_INCOMPATIBLE', subject: string | undefined, message: string, cause?: unknown) {
    super(code, message, { cause });
    this.name = 'SchemaRegistryError';
    this.subject = subject;
  }
}
