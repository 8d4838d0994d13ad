/**
 * Avro codec with the Confluent wire format (wireFormat.ts). Encodes with the latest schema of a
 * subject (or a given schema id); decodes with the writer schema named by the message's id, or
 * into a newer reader schema through avsc's resolver (schema evolution).
 *
 * Bad input never crashes and never yields a garbage object: malformed bytes give a CodecError
 * with a reason (empty, bad_magic, truncated, unknown_schema, invalid_body, trailing_bytes,
 * incompatible_reader), an invalid value gives CodecError('invalid_value') with the field paths.
 * A registry that cannot be reached is not the message's fault: its SluiceError (retriable)
 * passes through unchanged, so callers retry instead of dead-lettering.
 */
import { Type } from 'avsc';
import type { Resolver } from 'avsc';
import { errorMessage } from '../core/errors';
import type { BodyCheck } from './avroBodyCheck';
import { compileBodyCheck } from './avroBodyCheck';
import type { AvroSchema } from './avroSchema';
import { createAvroType } from './avroSchema';
import type { EncodeHazardCheck } from './avroValueCheck';
import { compileEncodeHazardCheck, findInvalidFields } from './avroValueCheck';
import { CodecError } from './schemaErrors';
import type { RegisteredSchema, SchemaLookup } from './schemaRegistry';
import { HEADER_LENGTH, asBuffer, isValidSchemaId, readSchemaId, writeHeader } from './wireFormat';

export interface AvroCodecOptions {
  /**
   * How long encode keeps using a subject's latest version before asking the registry again, so a
   * newly registered version is picked up by running writers. Default 30 s.
   */
  latestVersionTtlMs?: number;
}

/** A reader schema: an avsc Type (e.g. SubjectVersion.type) or schema JSON. */
export type ReaderSchema = Type | AvroSchema;

export interface DecodedMessage {
  schemaId: number;
  value: unknown;
}

interface WriterSchema {
  id: number;
  type: Type;
  bodyCheck: BodyCheck;
  encodeHazard: EncodeHazardCheck | undefined;
}

type CachedResolution = { resolver: Resolver } | { incompatible: string };

const MAX_REPORTED_PATHS = 10;
const INITIAL_SCRATCH_BYTES = 16 * 1024;
const MAX_KEPT_SCRATCH_BYTES = 1024 * 1024;

export class AvroCodec {
  private readonly registry: SchemaLookup;
  private readonly latestVersionTtlMs: number;
  private readonly writers = new Map<number, WriterSchema>();
  private readonly latestBySubject = new Map<string, { writer: WriterSchema; expiresAt: number }>();
  /** Per reader Type, per writer id: resolvers are costly to build and immutable, so build each once. */
  private readonly resolutions = new WeakMap<Type, Map<number, CachedResolution>>();
  private readonly readerTypes = new WeakMap<object, Type>();
  /** Encode target; the result is copied out, so one buffer serves every call (encode is synchronous past the lookups). */
  private scratch = Buffer.allocUnsafe(INITIAL_SCRATCH_BYTES);

  constructor(registry: SchemaLookup, options: AvroCodecOptions = {}) {
    this.registry = registry;
    this.latestVersionTtlMs = options.latestVersionTtlMs ?? 30_000;
  }

  /** Encodes `value` with the latest schema of subject `target`, or with schema id `target`. */
  async encode(target: string | number, value: unknown): Promise<Buffer> {
    const cached = typeof target === 'number' ? this.writers.get(target) : this.cachedLatest(target);
    const writer = cached ?? (typeof target === 'number' ? await this.writerForId(target, 'encode') : await this.writerForSubject(target));
    return this.encodeWith(writer, value);
  }

  async decode(bytes: Uint8Array, readerSchema?: ReaderSchema): Promise<unknown> {
    const buffer = asBuffer(bytes);
    const schemaId = readSchemaId(buffer);
    // One async layer, and an await only when the writer schema is not cached yet.
    const writer = this.writers.get(schemaId) ?? (await this.writerForId(schemaId, 'decode'));
    return this.decodeBody(buffer, writer, readerSchema);
  }

  /** Like decode, with the writer schema id from the header. */
  async decodeMessage(bytes: Uint8Array, readerSchema?: ReaderSchema): Promise<DecodedMessage> {
    const buffer = asBuffer(bytes);
    const schemaId = readSchemaId(buffer);
    const writer = this.writers.get(schemaId) ?? (await this.writerForId(schemaId, 'decode'));
    return { schemaId, value: this.decodeBody(buffer, writer, readerSchema) };
  }

  private decodeBody(message: Buffer, writer: WriterSchema, readerSchema: ReaderSchema | undefined): unknown {
    const problem = writer.bodyCheck(message, HEADER_LENGTH);
    if (problem) throw new CodecError('decode', problem.reason, `schema id ${writer.id}: ${problem.detail}`, { schemaId: writer.id });

    const readerType = readerSchema === undefined ? writer.type : this.readerType(readerSchema);
    const resolver = readerType === writer.type ? undefined : this.resolverFor(readerType, writer);
    try {
      // decode(buffer, offset) reads in place; the body check already proved it ends exactly at the end.
      const decoded = resolver ? readerType.decode(message, HEADER_LENGTH, resolver) : writer.type.decode(message, HEADER_LENGTH);
      if (decoded.offset !== message.length) throw new Error(`avsc stopped at byte ${decoded.offset} of ${message.length}`);
      return decoded.value;
    } catch (error) {
      // The body check passed, so this is avsc refusing a value it cannot represent.
      throw new CodecError('decode', 'invalid_body', `schema id ${writer.id}: ${errorMessage(error)}`, { schemaId: writer.id, cause: error });
    }
  }

  private encodeWith(writer: WriterSchema, value: unknown): Buffer {
    const hazard = writer.encodeHazard?.(value);
    if (hazard) {
      const name = writer.type.name ?? writer.type.typeName;
      throw new CodecError('encode', 'invalid_value', `cannot encode ${name} (schema id ${writer.id}): ${hazard.path}: ${hazard.problem}`, {
        paths: [hazard.path],
        schemaId: writer.id,
      });
    }
    let end: number;
    try {
      end = writer.type.encode(value, this.scratch, HEADER_LENGTH);
      while (end < 0) {
        // avsc returns minus the bytes missing; grow and write again.
        this.scratch = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, this.scratch.length - end));
        end = writer.type.encode(value, this.scratch, HEADER_LENGTH);
      }
    } catch (error) {
      throw this.invalidValue(writer, value, error);
    }
    const message = Buffer.allocUnsafe(end);
    this.scratch.copy(message, 0, 0, end);
    writeHeader(message, writer.id);
    // One huge value should not pin a huge scratch buffer for the codec's life.
    if (this.scratch.length > MAX_KEPT_SCRATCH_BYTES) this.scratch = Buffer.allocUnsafe(INITIAL_SCRATCH_BYTES);
    return message;
  }

  private invalidValue(writer: WriterSchema, value: unknown, cause: unknown): CodecError {
    const invalid = findInvalidFields(writer.type, value);
    const name = writer.type.name ?? writer.type.typeName;
    const shown = invalid.slice(0, MAX_REPORTED_PATHS).map((field) => `${field.path}: ${field.problem}`);
    if (invalid.length > MAX_REPORTED_PATHS) shown.push(`and ${invalid.length - MAX_REPORTED_PATHS} more`);
    const detail = shown.length > 0 ? shown.join('; ') : errorMessage(cause);
    return new CodecError('encode', 'invalid_value', `cannot encode ${name} (schema id ${writer.id}): ${detail}`, {
      paths: invalid.map((field) => field.path),
      schemaId: writer.id,
      cause,
    });
  }

  private cachedLatest(subject: string): WriterSchema | undefined {
    const cached = this.latestBySubject.get(subject);
    return cached && cached.expiresAt > Date.now() ? cached.writer : undefined;
  }

  private async writerForSubject(subject: string): Promise<WriterSchema> {
    const now = Date.now();
    const latest = await this.registry.getLatest(subject);
    if (!latest) throw new CodecError('encode', 'unknown_subject', `no schema is registered under subject "${subject}"`);
    const writer = this.writerFrom(latest);
    this.latestBySubject.set(subject, { writer, expiresAt: now + this.latestVersionTtlMs });
    return writer;
  }

  private async writerForId(id: number, operation: 'encode' | 'decode'): Promise<WriterSchema> {
    const cached = this.writers.get(id);
    if (cached) return cached;
    const registered = isValidSchemaId(id) ? await this.registry.getById(id) : undefined;
    if (!registered) throw new CodecError(operation, 'unknown_schema', `schema id ${id} is not in the registry`, { schemaId: id });
    return this.writerFrom(registered);
  }

  private writerFrom(registered: RegisteredSchema): WriterSchema {
    const known = this.writers.get(registered.id);
    if (known) return known;
    const writer: WriterSchema = {
      id: registered.id,
      type: registered.type,
      bodyCheck: compileBodyCheck(registered.type),
      encodeHazard: compileEncodeHazardCheck(registered.type),
    };
    this.writers.set(registered.id, writer);
    return writer;
  }

  private readerType(readerSchema: ReaderSchema): Type {
    if (Type.isType(readerSchema)) return readerSchema as Type;
    const schema = readerSchema as AvroSchema;
    if (typeof schema === 'string') return createAvroType(schema, 'reader schema');
    const cached = this.readerTypes.get(schema);
    if (cached) return cached;
    const type = createAvroType(schema, 'reader schema');
    this.readerTypes.set(schema, type);
    return type;
  }

  private resolverFor(readerType: Type, writer: WriterSchema): Resolver {
    let byWriter = this.resolutions.get(readerType);
    if (!byWriter) {
      byWriter = new Map();
      this.resolutions.set(readerType, byWriter);
    }
    let resolution = byWriter.get(writer.id);
    if (!resolution) {
      try {
        resolution = { resolver: readerType.createResolver(writer.type) };
      } catch (error) {
        resolution = { incompatible: errorMessage(error) };
      }
      byWriter.set(writer.id, resolution);
    }
    if ('incompatible' in resolution) {
      throw new CodecError('decode', 'incompatible_reader', `the reader schema cannot read data written with schema id ${writer.id}: ${resolution.incompatible}`, {
        schemaId: writer.id,
      });
    }
    return resolution.resolver;
  }
}
