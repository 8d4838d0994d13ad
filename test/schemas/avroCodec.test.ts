import { AvroCodec } from '../../schemas/avroCodec';
import type { AvroSchema } from '../../schemas/avroSchema';
import { AVRO_LONG_MAX, AVRO_LONG_MIN, createAvroType } from '../../schemas/avroSchema';
import type { Alert, TelemetryReading } from '../../schemas/records';
import { CodecError } from '../../schemas/schemaErrors';
import type { CodecReason } from '../../schemas/schemaErrors';
import { SUBJECTS, loadSluiceSchema, registerSluiceSchemas } from '../../schemas/sluiceSchemas';
import type { SluiceSubject } from '../../schemas/sluiceSchemas';
import type { TempRegistry } from './tempRegistry';
import { tempRegistry, wireHeader } from './tempRegistry';

const reading: TelemetryReading = {
  deviceId: 'dev-1',
  deviceType: 'thermo',
  eventTime: 1_700_000_000_000,
  seq: 7,
  metrics: { temp: 21.5 },
  location: { lat: 1.5, lon: -2.25 },
};

const alert: Alert = {
  alertId: 'a1',
  deviceId: 'dev-1',
  ruleId: 'r1',
  severity: 'warning',
  state: 'open',
  value: 31,
  threshold: 30,
  message: 'hot',
  raisedAt: 1,
  updatedAt: 2,
};

async function decodeFailure(codec: AvroCodec, bytes: Uint8Array): Promise<CodecError> {
  try {
    const value = await codec.decode(bytes);
    throw new Error(`expected a CodecError, decoded ${JSON.stringify(value)}`);
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    return error;
  }
}

async function encodeFailure(codec: AvroCodec, subject: string | number, value: unknown): Promise<CodecError> {
  try {
    await codec.encode(subject, value);
  } catch (error) {
    if (error instanceof CodecError) return error;
    throw error;
  }
  throw new Error('expected a CodecError');
}

function withField(subject: SluiceSubject, field: Record<string, unknown>): AvroSchema {
  const schema = loadSluiceSchema(subject) as { fields: unknown[] };
  return { ...schema, fields: [...schema.fields, field] };
}

describe('AvroCodec', () => {
  let temp: TempRegistry;
  let ids: Record<SluiceSubject, number>;
  let codec: AvroCodec;
  let readingBytes: Buffer;

  beforeAll(async () => {
    temp = tempRegistry();
    ids = await registerSluiceSchemas(temp.registry);
    codec = new AvroCodec(temp.registry);
    readingBytes = await codec.encode(SUBJECTS.telemetryReading, reading);
  });

  afterAll(async () => {
    await temp.cleanup();
  });

  describe('round trip', () => {
    it('writes the Confluent header (magic 0, big-endian schema id) before the Avro body', async () => {
      expect(readingBytes.subarray(0, 5)).toEqual(wireHeader(ids[SUBJECTS.telemetryReading]));
      const body = createAvroType(loadSluiceSchema(SUBJECTS.telemetryReading)).toBuffer(reading);
      expect(readingBytes.subarray(5)).toEqual(body);
    });

    it('decodes to the value with absent optional fields as null', async () => {
      await expect(codec.decode(readingBytes)).resolves.toEqual({ ...reading, location: { ...reading.location, alt: null }, battery: null, firmware: null, ingestTime: null });
    });

    it('encodes by schema id as by subject', async () => {
      await expect(codec.encode(ids[SUBJECTS.telemetryReading], reading)).resolves.toEqual(readingBytes);
    });

    it('reports the writer schema id with decodeMessage', async () => {
      const message = await codec.decodeMessage(await codec.encode(SUBJECTS.alert, alert));
      expect(message).toEqual({ schemaId: ids[SUBJECTS.alert], value: alert });
    });

    it('decodes a Uint8Array that is a view into a larger buffer', async () => {
      const backing = new Uint8Array(readingBytes.length + 10);
      backing.set(readingBytes, 3);
      await expect(codec.decode(backing.subarray(3, 3 + readingBytes.length))).resolves.toMatchObject({ deviceId: 'dev-1', seq: 7 });
    });

    it('keeps longs from -2^52 to 2^53 - 2 and refuses values beyond on encode', async () => {
      const edge = { ...reading, seq: AVRO_LONG_MAX, eventTime: AVRO_LONG_MIN };
      await expect(codec.decode(await codec.encode(SUBJECTS.telemetryReading, edge))).resolves.toMatchObject({ seq: AVRO_LONG_MAX, eventTime: AVRO_LONG_MIN });
      expect((await encodeFailure(codec, SUBJECTS.telemetryReading, { ...reading, seq: AVRO_LONG_MAX + 1 })).paths).toEqual(['seq']);
      // avsc alone would write -2^52 - 1 with the wrong sign and read back 2^52.
      const below = await encodeFailure(codec, SUBJECTS.telemetryReading, { ...reading, eventTime: AVRO_LONG_MIN - 1 });
      expect(below.paths).toEqual(['eventTime']);
      expect(below.message).toContain('wrong sign');
    });

    it('refuses strings with a lone surrogate, which avsc would write as invalid UTF-8', async () => {
      const error = await encodeFailure(codec, SUBJECTS.telemetryReading, { ...reading, deviceId: 'a\ud800b' });
      expect(error.paths).toEqual(['deviceId']);
      const keyError = await encodeFailure(codec, SUBJECTS.telemetryReading, { ...reading, metrics: { 'x\udc00': 1 } });
      expect(keyError.paths).toEqual(['metrics.x\udc00']);
    });
  });

  describe('malformed bytes give a CodecError with a reason', () => {
    it.each<[string, () => Buffer, CodecReason]>([
      ['empty', () => Buffer.alloc(0), 'empty'],
      ['JSON instead of Avro', () => Buffer.from('{"deviceId":"x"}'), 'bad_magic'],
      ['a header cut short', () => Buffer.from([0, 0, 0]), 'truncated'],
      ['an unknown schema id', () => Buffer.concat([wireHeader(4242), readingBytes.subarray(5)]), 'unknown_schema'],
      ['schema id 0', () => Buffer.concat([wireHeader(0), readingBytes.subarray(5)]), 'unknown_schema'],
      ['a header and no body', () => readingBytes.subarray(0, 5), 'truncated'],
      ['trailing garbage', () => Buffer.concat([readingBytes, Buffer.from([0xde, 0xad])]), 'trailing_bytes'],
    ])('%s', async (_name, bytes, reason) => {
      const error = await decodeFailure(codec, bytes());
      expect(error.reason).toBe(reason);
      expect(error.code).toBe('DECODE_FAILED');
      expect(error.retriable).toBe(false);
    });

    it('refuses every strict prefix of a valid message as truncated', async () => {
      for (let length = 5; length < readingBytes.length; length++) {
        const error = await decodeFailure(codec, readingBytes.subarray(0, length));
        expect({ length, reason: error.reason }).toEqual({ length, reason: 'truncated' });
      }
    });

    it('refuses a long beyond 2^53 as invalid_body', async () => {
      // deviceId "a", deviceType "b", eventTime 0, then seq = 2^60: zig-zag 2^61 is eight 0x80 bytes and 0x20.
      const body = Buffer.from([0x02, 0x61, 0x02, 0x62, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00]);
      const error = await decodeFailure(codec, Buffer.concat([wireHeader(ids[SUBJECTS.telemetryReading]), body]));
      expect(error.reason).toBe('invalid_body');
      expect(error.message).toContain('seq');
    });

    it('refuses a long below -2^52 (which avsc would read with the wrong sign) as invalid_body', async () => {
      // seq = -(2^52 + 1): zig-zag 2^53 + 1.
      const body = Buffer.from([0x02, 0x61, 0x02, 0x62, 0x00, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00]);
      const error = await decodeFailure(codec, Buffer.concat([wireHeader(ids[SUBJECTS.telemetryReading]), body]));
      expect(error.reason).toBe('invalid_body');
      expect(error.message).toContain('seq');
    });

    it('refuses a map block count far beyond the bytes left without looping over it', async () => {
      // metrics claims 2^40 entries; avsc alone would spin through them.
      const body = Buffer.from([0x02, 0x61, 0x02, 0x62, 0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0x00]);
      const error = await decodeFailure(codec, Buffer.concat([wireHeader(ids[SUBJECTS.telemetryReading]), body]));
      expect(error.reason).toBe('truncated');
      expect(error.message).toContain('metrics');
    });

    it('refuses an enum index outside the symbols', async () => {
      const bytes = Buffer.from(await codec.encode(SUBJECTS.alert, alert));
      // severity follows alertId "a1", deviceId "dev-1", ruleId "r1": 1+2 + 1+5 + 1+2 = 12 bytes into the body.
      expect(bytes[5 + 12]).toBe(2); // 'warning' is index 1, zig-zag 2
      bytes[5 + 12] = 6; // index 3 of 3 symbols
      const error = await decodeFailure(codec, bytes);
      expect(error.reason).toBe('invalid_body');
      expect(error.message).toContain('severity');
    });

    it('refuses a string that is not UTF-8', async () => {
      const bytes = Buffer.from(readingBytes);
      bytes[6] = 0xff; // first byte of deviceId
      const error = await decodeFailure(codec, bytes);
      expect(error.reason).toBe('invalid_body');
      expect(error.message).toContain('deviceId');
    });

    it('refuses a map key "__proto__", which a JavaScript object would drop', async () => {
      const bytes = await codec.encode(SUBJECTS.telemetryReading, { ...reading, metrics: { __proto_x: 1 } });
      const at = bytes.indexOf('__proto_x');
      bytes[at + 8] = '_'.charCodeAt(0);
      const error = await decodeFailure(codec, bytes);
      expect(error.reason).toBe('invalid_body');
      expect(error.message).toContain('__proto__');
    });
  });

  describe('values that do not match the schema give CodecError(invalid_value) naming the fields', () => {
    it.each<[string, unknown, string[]]>([
      ['missing required fields', { deviceId: 'x' }, ['deviceType', 'eventTime', 'seq', 'metrics']],
      ['a nested record field of the wrong type', { ...reading, location: { lat: 'north', lon: 1 } }, ['location.lat']],
      ['a map value of the wrong type', { ...reading, metrics: { temp: 1, hum: '40%' } }, ['metrics.hum']],
      ['a fractional long', { ...reading, seq: 1.5 }, ['seq']],
      ['null', null, ['(root)']],
      ['a number', 42, ['(root)']],
    ])('%s', async (_name, value, paths) => {
      const error = await encodeFailure(codec, SUBJECTS.telemetryReading, value);
      expect(error.reason).toBe('invalid_value');
      expect(error.code).toBe('ENCODE_FAILED');
      expect(error.paths).toEqual(paths);
      for (const path of paths) expect(error.message).toContain(path);
    });

    it('names an enum value that is not a symbol', async () => {
      const error = await encodeFailure(codec, SUBJECTS.alert, { ...alert, severity: 'fatal' });
      expect(error.paths).toEqual(['severity']);
      expect(error.message).toContain('one of info, warning, critical');
    });

    it('refuses a map key "__proto__"', async () => {
      const error = await encodeFailure(codec, SUBJECTS.telemetryReading, { ...reading, metrics: JSON.parse('{"ok":1,"__proto__":2}') });
      expect(error.paths).toEqual(['metrics.__proto__']);
    });

    it('refuses an unknown subject and an unknown schema id', async () => {
      expect((await encodeFailure(codec, 'dev.sluice.Nope', reading)).reason).toBe('unknown_subject');
      expect((await encodeFailure(codec, 999, reading)).reason).toBe('unknown_schema');
    });
  });

  describe('schema evolution', () => {
    it('reads v1 data with a v2 reader that adds a field with a default', async () => {
      const v2Schema = withField(SUBJECTS.alert, { name: 'site', type: 'string', default: 'unknown' });
      const v2 = await temp.registry.registerVersion(SUBJECTS.alert, v2Schema);
      expect(v2.version).toBe(2);
      const v1Bytes = await new AvroCodec(temp.registry).encode(ids[SUBJECTS.alert], alert);
      await expect(codec.decode(v1Bytes, v2.type)).resolves.toEqual({ ...alert, site: 'unknown' });
      await expect(codec.decode(v1Bytes, v2Schema)).resolves.toEqual({ ...alert, site: 'unknown' });
      // Without a reader schema, v1 data reads as v1.
      await expect(codec.decode(v1Bytes)).resolves.toEqual(alert);
    });

    it('builds the resolver once per (writer id, reader) pair', async () => {
      const type = createAvroType(withField(SUBJECTS.telemetryReading, { name: 'zone', type: ['null', 'string'], default: null }));
      // avsc Types are frozen, so count createResolver calls through a Proxy (it still does the work).
      let resolversBuilt = 0;
      const reader = new Proxy(type, {
        get(target, property) {
          if (property === 'createResolver') return (...args: Parameters<typeof type.createResolver>) => (resolversBuilt++, target.createResolver(...args));
          const member: unknown = Reflect.get(target, property);
          // Methods run on the real Type: avsc checks that a resolver belongs to `this`.
          return typeof member === 'function' ? member.bind(target) : member;
        },
      });
      const fresh = new AvroCodec(temp.registry);
      for (let i = 0; i < 3; i++) await expect(fresh.decode(readingBytes, reader)).resolves.toMatchObject({ zone: null, seq: 7 });
      expect(resolversBuilt).toBe(1);
      const otherWriter = await fresh.encode(SUBJECTS.alert, alert);
      await expect(fresh.decode(otherWriter, reader)).rejects.toMatchObject({ reason: 'incompatible_reader' });
      expect(resolversBuilt).toBe(2);
    });

    it('refuses a reader that cannot read the writer schema as incompatible_reader', async () => {
      const reader = withField(SUBJECTS.telemetryReading, { name: 'zone', type: 'string' });
      const error = await codec.decode(readingBytes, reader).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CodecError);
      expect((error as CodecError).reason).toBe('incompatible_reader');
    });

    it('encodes with the newest version once the cached latest version expires', async () => {
      const own = tempRegistry();
      try {
        const v1 = await own.registry.register('evolving', loadSluiceSchema(SUBJECTS.alert));
        const caching = new AvroCodec(own.registry);
        const refreshing = new AvroCodec(own.registry, { latestVersionTtlMs: 0 });
        expect((await caching.decodeMessage(await caching.encode('evolving', alert))).schemaId).toBe(v1);
        const v2 = await own.registry.register('evolving', withField(SUBJECTS.alert, { name: 'site', type: 'string', default: 'unknown' }));
        expect((await refreshing.decodeMessage(await refreshing.encode('evolving', alert))).schemaId).toBe(v2);
        expect((await caching.decodeMessage(await caching.encode('evolving', alert))).schemaId).toBe(v1);
      } finally {
        await own.cleanup();
      }
    });
  });

  it('grows its encode buffer for values larger than it', async () => {
    const big = { ...reading, metrics: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`metric-${i}`, i])) };
    const bytes = await codec.encode(SUBJECTS.telemetryReading, big);
    expect(bytes.length).toBeGreaterThan(16 * 1024);
    await expect(codec.decode(bytes)).resolves.toMatchObject({ metrics: big.metrics });
  });
});
