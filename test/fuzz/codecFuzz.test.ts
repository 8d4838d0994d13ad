/**
 * The Avro codec on the path ingest uses it: device bytes decoded into the TelemetryReading reader
 * schema (through avsc's resolver when the writer is an older version), and readings with fields
 * of the wrong type handed to encode. test/schemas/avroCodec.property.test.ts holds the round trip
 * of every schema and the writer-schema decode of random bytes; this adds the reader path, an
 * older writer, hostile counts, what the error says, and wrong-typed values on encode.
 */
import fc from 'fast-check';
import type { Type } from 'avsc';
import { SluiceError } from '../../core/errors';
import { AvroCodec } from '../../schemas/avroCodec';
import { AVRO_LONG_MAX, AVRO_LONG_MIN } from '../../schemas/avroSchema';
import { CodecError } from '../../schemas/schemaErrors';
import type { DecodeReason } from '../../schemas/schemaErrors';
import { SUBJECTS, loadSluiceSchema, registerSluiceSchemas } from '../../schemas/sluiceSchemas';
import { tempRegistry } from '../schemas/tempRegistry';
import type { TempRegistry } from '../schemas/tempRegistry';
import type { AvroReadingValue } from './fuzzAvroPayloads';
import { HOSTILE_COUNTS, avroHeader, avroReadingValue, avroString, avroVarint, unknownSchemaId } from './fuzzAvroPayloads';
import { isWellFormedUtf16, loneSurrogates } from './fuzzPayloads';

/** An older TelemetryReading a device may still write: seq an int, metrics floats, no optional fields. Readers promote int->long, float->double. */
const READING_V0 = {
  type: 'record',
  name: 'TelemetryReading',
  namespace: 'dev.sluice',
  fields: [
    { name: 'deviceId', type: 'string' },
    { name: 'deviceType', type: 'string' },
    { name: 'eventTime', type: 'long' },
    { name: 'seq', type: 'int' },
    { name: 'metrics', type: { type: 'map', values: 'float' } },
  ],
};

/** One object for the suite, as ingest keeps one: the codec caches resolvers by the reader's identity. */
const READER = loadSluiceSchema(SUBJECTS.telemetryReading);

describe('AvroCodec under fuzzed input (the ingest path: bytes -> TelemetryReading reader)', () => {
  let temp: TempRegistry;
  let codec: AvroCodec;
  let ids: { v1: number; v0: number; others: number[] };
  let readerType: Type;
  /** Valid messages of both writer versions, to cut, flip and splice. */
  let validMessages: Buffer[];

  beforeAll(async () => {
    temp = tempRegistry();
    const sluice = await registerSluiceSchemas(temp.registry);
    const v0 = await temp.registry.register('fuzz.TelemetryReadingV0', READING_V0);
    ids = { v1: sluice[SUBJECTS.telemetryReading], v0, others: Object.values(sluice).filter((id) => id !== sluice[SUBJECTS.telemetryReading]) };
    codec = new AvroCodec(temp.registry);
    readerType = (await temp.registry.getById(ids.v1))!.type;
    validMessages = [];
    for (const reading of fc.sample(avroReadingValue, { numRuns: 40, seed: 7 })) {
      validMessages.push(await codec.encode(ids.v1, reading));
      validMessages.push(await codec.encode(ids.v0, { ...reading, seq: reading.seq % 2 ** 31, metrics: Object.fromEntries(Object.entries(reading.metrics).map(([name, value]) => [name, Math.fround(value)])) }));
    }
  });

  afterAll(async () => {
    await temp.cleanup();
  });

  /** What the header alone says a decode must end in: a reason, or 'body' when the body decides. */
  function headerVerdict(bytes: Buffer): DecodeReason | 'body' {
    if (bytes.length === 0) return 'empty';
    if (bytes[0] !== 0) return 'bad_magic';
    if (bytes.length < 5) return 'truncated';
    const id = bytes.readUInt32BE(1);
    if (id === ids.v1 || id === ids.v0) return 'body';
    return ids.others.includes(id) ? 'body' : 'unknown_schema';
  }

  const mutated = fc
    .record({ index: fc.nat(), kind: fc.constantFrom('truncate', 'flip', 'overwrite', 'insert', 'append'), position: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), extra: fc.uint8Array({ minLength: 1, maxLength: 12 }) })
    .map(({ index, kind, position, byte, extra }) => {
      const message = validMessages[index % validMessages.length]!;
      const at = position % message.length;
      const copy = Buffer.from(message);
      if (kind === 'truncate') return copy.subarray(0, at);
      if (kind === 'flip') copy[at] = copy[at]! ^ (1 << byte % 8);
      if (kind === 'overwrite') copy[at] = byte;
      if (kind === 'insert') return Buffer.concat([copy.subarray(0, at), extra, copy.subarray(at)]);
      if (kind === 'append') return Buffer.concat([copy, extra]);
      return copy;
    });

  const anyId = () => fc.oneof(fc.constantFrom(ids.v1, ids.v0, ...ids.others), unknownSchemaId);

  it('decodes any bytes to a reading the reader schema holds, or refuses them with a typed DECODE_FAILED error whose reason the header predicts', async () => {
    const messages = fc.oneof(
      fc.uint8Array({ maxLength: 48 }).map((bytes) => Buffer.from(bytes)),
      fc.tuple(anyId(), fc.uint8Array({ maxLength: 80 })).map(([id, body]) => Buffer.concat([avroHeader(id), body])),
      mutated,
    );
    let decodedCount = 0;
    await fc.assert(
      fc.asyncProperty(messages, async (bytes) => {
        const expected = headerVerdict(bytes);
        let value: unknown;
        try {
          value = await codec.decode(bytes, READER);
        } catch (error) {
          expect(error).toBeInstanceOf(CodecError);
          expect(error).toBeInstanceOf(SluiceError);
          const refused = error as CodecError;
          expect({ code: refused.code, retriable: refused.retriable }).toEqual({ code: 'DECODE_FAILED', retriable: false });
          expect(refused.message.length).toBeGreaterThan(10);
          if (expected === 'body') expect(['truncated', 'invalid_body', 'trailing_bytes', 'incompatible_reader']).toContain(refused.reason);
          else expect(refused.reason).toBe(expected);
          if (expected === 'body' || expected === 'unknown_schema') expect(refused.schemaId).toBe(bytes.readUInt32BE(1));
          return;
        }
        decodedCount += 1;
        // Decoded: only a TelemetryReading writer can give a reading, and what it gives is a whole, valid one.
        expect(expected).toBe('body');
        expect([ids.v1, ids.v0]).toContain(bytes.readUInt32BE(1));
        expect(readerType.isValid(value)).toBe(true);
        // ... that survives a round trip unchanged.
        await expect(codec.decode(await codec.encode(SUBJECTS.telemetryReading, value), READER)).resolves.toEqual(value);
      }),
      { numRuns: 1500 },
    );
    // Not only refusals: the mutations (a flipped metric byte, say) leave some messages whole.
    expect(decodedCount).toBeGreaterThan(0);
  });

  it('refuses a map item count that cannot fit in the bytes left (truncated or invalid_body), with no loop over the count', async () => {
    const hostile = fc.record({
      writer: fc.constantFrom<'v1' | 'v0'>('v1', 'v0'),
      reading: avroReadingValue,
      count: fc.constantFrom(...HOSTILE_COUNTS),
      rest: fc.uint8Array({ maxLength: 40 }),
    });
    await fc.assert(
      fc.asyncProperty(hostile, async ({ writer, reading, count, rest }) => {
        const seq = writer === 'v0' ? reading.seq % 2 ** 31 : reading.seq;
        const bytes = Buffer.concat([avroHeader(ids[writer]), avroString(reading.deviceId), avroString(reading.deviceType), avroVarint(reading.eventTime), avroVarint(seq), Buffer.from(count), rest]);
        const refused = await codec.decode(bytes, READER).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(refused).toBeInstanceOf(CodecError);
        expect(['truncated', 'invalid_body']).toContain((refused as CodecError).reason);
        expect((refused as CodecError).message).toContain('metrics');
      }),
      { numRuns: 300 },
    );
  });

  it('encodes a reading with a field of a wrong type only by refusing it as invalid_value naming that field; what it encodes decodes back equal', async () => {
    const fields = ['deviceId', 'deviceType', 'eventTime', 'seq', 'metrics', 'location', 'battery', 'firmware', 'ingestTime'] as const;
    // What a device, a JSON payload or careless code could put anywhere.
    const wrongValue = fc.oneof(
      notPlainObject,
      fc.constantFrom<unknown>(null, undefined, true, '', 'x', '5', 'NaN', 0, -0, 1.5, Number.NaN, Infinity, -Infinity, 2 ** 53, AVRO_LONG_MAX, AVRO_LONG_MIN, AVRO_LONG_MIN - 1, -1, [], [1, 2], {}, { lat: 1 }),
      fc.constantFrom<unknown>(...loneSurrogates.map((half) => `id${half}`), { lat: 1, lon: 2, alt: 'high' }, { lat: 'n', lon: 2 }, { a: 1, b: 'two' }, { ['__proto__']: 1 }, 5n),
      // a metric named by a lone surrogate, as JSON.parse makes it from a \u escape
      fc.constantFrom(...loneSurrogates).map((half) => JSON.parse(`{"\\u${half.charCodeAt(0).toString(16)}":1}`) as unknown),
      fc.double().map((n) => n as unknown),
      fc.string({ unit: 'binary', maxLength: 8 }).map((text) => text as unknown),
      fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.double(), fc.string({ maxLength: 3 })), { maxKeys: 3 }).map((value) => value as unknown),
    );
    const cases = fc.record({ reading: avroReadingValue, field: fc.constantFrom(...fields), value: wrongValue, extra: fc.boolean() });
    let refusedCount = 0;
    await fc.assert(
      fc.asyncProperty(cases, async ({ reading, field, value, extra }) => {
        const candidate: Record<string, unknown> = { ...reading, [field]: value, ...(extra ? { unknownField: 'ignored' } : {}) };
        let bytes: Buffer;
        try {
          bytes = await codec.encode(SUBJECTS.telemetryReading, candidate);
        } catch (error) {
          refusedCount += 1;
          expect(fieldHoldsAvro(field, value)).toBe(false);
          expect(error).toBeInstanceOf(CodecError);
          expect({ code: (error as CodecError).code, reason: (error as CodecError).reason }).toEqual({ code: 'ENCODE_FAILED', reason: 'invalid_value' });
          expect((error as CodecError).paths.some((path) => path === field || path.startsWith(`${field}.`))).toBe(true);
          return;
        }
        expect(fieldHoldsAvro(field, value)).toBe(true);
        await expect(codec.decode(bytes, READER)).resolves.toEqual(asDecoded(candidate as unknown as AvroReadingValue));
      }),
      { numRuns: 1500 },
    );
    expect(refusedCount).toBeGreaterThan(0);
  });

  it('refuses a Map, Date, Buffer, typed array, class instance or array given for a map or record as invalid_value naming the field and what it got', async () => {
    const cases = fc.record({ reading: avroReadingValue, target: fc.constantFrom('metrics', 'location', 'source', 'headers', '(root)'), value: notPlainObject });
    await fc.assert(
      fc.asyncProperty(cases, async ({ reading, target, value }) => {
        const deadLetter = { reasonCode: 'bad_magic', message: 'm', source: { kind: 'mqtt', address: 'a' }, original: Buffer.from('x'), firstSeenAt: 1, attempts: 1, headers: null };
        const [subject, candidate] =
          target === 'metrics' || target === 'location' ? [SUBJECTS.telemetryReading, { ...reading, [target]: value }]
          : target === 'source' || target === 'headers' ? [SUBJECTS.deadLetter, { ...deadLetter, [target]: value }]
          : [SUBJECTS.telemetryReading, value];
        const refused = await codec.encode(subject, candidate).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(refused).toBeInstanceOf(CodecError);
        expect({ code: (refused as CodecError).code, reason: (refused as CodecError).reason, paths: (refused as CodecError).paths }).toEqual({ code: 'ENCODE_FAILED', reason: 'invalid_value', paths: [target] });
        expect((refused as CodecError).message).toContain(`${target}: expected `);
        expect((refused as CodecError).message).toContain(`got ${kindOf(value)}`);
      }),
      { numRuns: 300 },
    );
  });

  it('round trips a reading whose map and records are null-prototype objects, and re-encodes a decoded reading (avsc record instances) to the same bytes', async () => {
    await fc.assert(
      fc.asyncProperty(avroReadingValue, async (reading) => {
        const candidate = { ...reading, metrics: withNullPrototype(reading.metrics), location: reading.location && withNullPrototype(reading.location) };
        const bytes = await codec.encode(ids.v1, withNullPrototype(candidate));
        const decoded = await codec.decode(bytes);
        expect(decoded).toEqual(asDecoded(reading));
        expect(await codec.encode(ids.v1, decoded)).toEqual(bytes);
      }),
      { numRuns: 200 },
    );
  });

  it('encodes Avro bytes from a Buffer only: a Uint8Array, ArrayBuffer, string or number array is refused naming the field', async () => {
    const deadLetter = { reasonCode: 'bad_magic', message: 'm', source: { kind: 'mqtt', address: 'a' }, firstSeenAt: 1, attempts: 1, headers: null };
    const notBuffer = fc.uint8Array({ maxLength: 16 }).chain((bytes) =>
      fc.constantFrom<unknown>(bytes, bytes.buffer, Array.from(bytes), Buffer.from(bytes).toString('latin1'), new DataView(bytes.buffer), { type: 'Buffer', data: Array.from(bytes) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 16 }), notBuffer, async (bytes, original) => {
        const decoded = await codec.decode(await codec.encode(SUBJECTS.deadLetter, { ...deadLetter, original: Buffer.from(bytes) }));
        expect((decoded as { original: Buffer }).original).toEqual(Buffer.from(bytes));
        const refused = await codec.encode(SUBJECTS.deadLetter, { ...deadLetter, original }).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(refused).toBeInstanceOf(CodecError);
        expect({ reason: (refused as CodecError).reason, paths: (refused as CodecError).paths }).toEqual({ reason: 'invalid_value', paths: ['original'] });
        expect((refused as CodecError).message).toContain('original: expected bytes');
      }),
      { numRuns: 200 },
    );
  });
});

/** A class holding exactly a reading's fields: avsc would read them, but a class instance is not what a map or record takes. */
class ReadingLike {
  constructor(fields: object) {
    Object.assign(this, fields);
  }
}

/**
 * Objects that are not plain, each holding what a map or record of the reading could hold, so
 * avsc alone would encode most of them (a Map as {}, a Buffer as {"0": 97, ...}).
 */
const notPlainObject: fc.Arbitrary<unknown> = fc
  .tuple(fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.double({ noNaN: true }), { minKeys: 1, maxKeys: 4 }), fc.uint8Array({ minLength: 1, maxLength: 8 }))
  .chain(([entries, bytes]) => {
    const geo = { lat: 1, lon: 2, alt: null, ...entries };
    return fc.constantFrom<unknown>(
      new Map(Object.entries(entries)),
      Object.assign(new Date(0), geo),
      Buffer.from(bytes),
      Uint8Array.from(bytes),
      new ReadingLike(geo),
      Object.assign(Object.create(new ReadingLike({})) as object, geo),
      Object.assign(Array.from(bytes), { lat: 1, lon: 2, alt: null }),
      new Set(Object.keys(entries)),
    );
  });

/** The words the error uses for what it got (avroValueCheck.notPlainObject). */
function kindOf(value: unknown): string {
  if (Buffer.isBuffer(value)) return `a Buffer(${value.length})`;
  if (value instanceof Uint8Array) return `a Uint8Array of ${value.byteLength} bytes`;
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Map) return 'a Map';
  if (value instanceof Set) return 'a Set';
  if (value instanceof Date) return 'a Date';
  return 'an instance of ReadingLike';
}

function withNullPrototype<T extends object>(value: T): T {
  return Object.assign(Object.create(null) as T, value);
}

/** A long has no -0 (written and read as 0). */
const asLong = (value: number): number => (value === 0 ? 0 : value);

function isLong(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= AVRO_LONG_MIN && value <= AVRO_LONG_MAX;
}

function isText(value: unknown): boolean {
  return typeof value === 'string' && isWellFormedUtf16(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/**
 * Can the TelemetryReading schema hold `value` in `field`, by the Avro types and what sluice carries
 * (schemas/avroSchema.ts: longs -2^52 .. 2^53 - 2, strings UTF-8 can carry, map keys other than __proto__)?
 */
function fieldHoldsAvro(field: string, value: unknown): boolean {
  const optional = value === null || value === undefined;
  switch (field) {
    case 'deviceId':
    case 'deviceType':
      return isText(value);
    case 'eventTime':
    case 'seq':
      return isLong(value);
    case 'ingestTime':
      return optional || isLong(value);
    case 'firmware':
      return optional || isText(value);
    case 'battery':
      return optional || typeof value === 'number';
    case 'metrics':
      return isPlainObject(value) && Object.entries(value).every(([name, metric]) => name !== '__proto__' && isWellFormedUtf16(name) && typeof metric === 'number');
    case 'location':
      if (optional) return true;
      return isPlainObject(value) && typeof value.lat === 'number' && typeof value.lon === 'number' && (value.alt === undefined || value.alt === null || typeof value.alt === 'number');
    default:
      throw new Error(`no rule for ${field}`);
  }
}

/** What an encodable reading reads back as: optional fields null when absent, longs without -0, unknown fields gone. */
function asDecoded(reading: AvroReadingValue): AvroReadingValue {
  const { deviceId, deviceType, eventTime, seq, metrics, location, battery, firmware, ingestTime } = reading;
  return {
    deviceId,
    deviceType,
    eventTime: asLong(eventTime),
    seq: asLong(seq),
    metrics: { ...metrics },
    location: location ? { lat: location.lat, lon: location.lon, alt: location.alt ?? null } : null,
    battery: battery ?? null,
    firmware: firmware ?? null,
    ingestTime: ingestTime === null || ingestTime === undefined ? null : asLong(ingestTime),
  };
}
