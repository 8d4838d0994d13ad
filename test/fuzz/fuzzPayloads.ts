/**
 * fast-check arbitraries for fuzzing ingest (MQTT, HTTP) and the Avro codec.
 *
 * Arbitraries draw small, printable specs; `*Text`/`*Bytes` functions turn them into payloads. Why:
 * a failing case is printed by fast-check, and a megabyte string or a 10,000-level nesting should
 * print as `{"huge":1200000}` or `{"nested":10000}`, not as itself.
 *
 * JSON is drawn as text, not as values, so it can hold what JSON.stringify never writes: NaN and
 * Infinity tokens (JSON.parse refuses them), -0, numbers past 2^53 or past double range (1e400),
 * \u escapes, duplicate keys, a BOM, bytes that are not UTF-8.
 */
import fc from 'fast-check';
import { AVRO_LONG_MAX, AVRO_LONG_MIN } from '../../schemas/avroSchema';

// ---------------------------------------------------------------- strings

/** Right-to-left text and the bidi controls that flip how an id is displayed. */
const rtlPieces = ['\u05D3\u05D5\u05D3', '\u0645\u0633\u062A\u0634\u0639\u0631', '\u202Eevil\u202C', '\u200F', '\u061C'];
const zeroWidthPieces = ['\u200B', '\u200C', '\u200D', '\uFEFF', '\u2060'];
export const emojiPieces = ['\u{1F600}', '\u{1F469}\u200D\u{1F4BB}', '\u{1F1E9}\u{1F1EA}', '\u{1F3F3}\uFE0F\u200D\u{1F308}', 'e\u0301'];
/** Halves of surrogate pairs: only a JSON \u escape (or broken UTF-8) can carry them. */
export const loneSurrogates = ['\uD800', '\uDBFF', '\uDC00', '\uDFFF'];
const controlPieces = ['\u0000', '\t', '\n', '\u001B', '\u007F', '\u0085'];
/** Characters with a meaning in MQTT topics. */
const topicPieces = ['/', '+', '#', '$'];

const idPiece: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,11}$/), weight: 30 },
  { arbitrary: fc.constantFrom(...rtlPieces), weight: 2 },
  { arbitrary: fc.constantFrom(...zeroWidthPieces), weight: 2 },
  { arbitrary: fc.constantFrom(...emojiPieces), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }), weight: 2 },
  { arbitrary: fc.constantFrom(...controlPieces), weight: 1 },
  { arbitrary: fc.constantFrom(...topicPieces), weight: 1 },
  { arbitrary: fc.constantFrom(...loneSurrogates), weight: 1 },
);

/** `unit` repeated to exactly `length` UTF-16 units (a pair cut at the end leaves a lone surrogate). */
export function repeatTo(unit: string, length: number): string {
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

/** Around the 256-unit limit on ids and short strings, in ASCII, 2-byte and astral characters. */
const boundaryString = fc.tuple(fc.constantFrom('a', '\u00E9', '\u{1F600}'), fc.integer({ min: 250, max: 262 })).map(([unit, length]) => repeatTo(unit, length));

/** Device ids (and other short strings) as a device might send them: mostly plain, often not. */
export const deviceIdString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.array(idPiece, { minLength: 1, maxLength: 3 }).map((pieces) => pieces.join('')), weight: 20 },
  { arbitrary: fc.constant(''), weight: 1 },
  { arbitrary: boundaryString, weight: 1 },
);

/** Can UTF-8 carry it (no lone surrogate)? */
export function isWellFormedUtf16(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      return false;
    }
  }
  return true;
}
/** Strings UTF-8 can carry, as an Avro writer may hold them. */
export const encodableString = deviceIdString.filter(isWellFormedUtf16);

/**
 * Can this be one level of an MQTT topic on Mosquitto? It disconnects a client whose topic holds
 * a wildcard, U+0000, a C0/C1 control, a noncharacter or is not UTF-8 (MQTT 5 §1.5.4; mosquitto
 * utf8_mosq.c), and '/' would start a new level.
 */
export function isTopicLevel(text: string): boolean {
  if (!isWellFormedUtf16(text)) return false;
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    if (char === '/' || char === '+' || char === '#') return false;
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return false;
    if ((code >= 0xfdd0 && code <= 0xfdef) || (code & 0xfffe) === 0xfffe) return false;
  }
  return true;
}

// ---------------------------------------------------------------- JSON fragments

/** A piece of JSON text. The large ones stay descriptions until fragmentText writes them. */
export type Fragment =
  | { text: string }
  /** a JSON string of `unit` repeated to `longString` UTF-16 units */
  | { longString: number; unit: string }
  /** `nested` levels of arrays or objects around `inner` */
  | { nested: number; shape: 'array' | 'object'; inner: string }
  /** an object of `metricCount` metrics m0..mN, each 1 */
  | { metricCount: number };

export function fragmentText(fragment: Fragment): string {
  if ('text' in fragment) return fragment.text;
  if ('longString' in fragment) return JSON.stringify(repeatTo(fragment.unit, fragment.longString));
  if ('nested' in fragment) {
    const [open, close] = fragment.shape === 'array' ? ['[', ']'] : ['{"a":', '}'];
    return open.repeat(fragment.nested) + fragment.inner + close.repeat(fragment.nested);
  }
  const metrics: string[] = [];
  for (let i = 0; i < fragment.metricCount; i++) metrics.push(`"m${i}":1`);
  return `{${metrics.join(',')}}`;
}

const text = (value: string): Fragment => ({ text: value });

/** Every character as a \u escape: the same string to a JSON parser, other bytes on the wire. */
function escapeEveryUnit(value: string): string {
  let escaped = '"';
  for (let i = 0; i < value.length; i++) escaped += `\\u${value.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return `${escaped}"`;
}

/** A string as JSON: usually JSON.stringify (which escapes lone surrogates), sometimes fully escaped. */
const jsonString = (strings: fc.Arbitrary<string>): fc.Arbitrary<Fragment> =>
  fc.tuple(strings, fc.nat(4)).map(([value, form]) => text(form === 0 ? escapeEveryUnit(value) : JSON.stringify(value)));

/** NaN and the infinities as bare tokens (not JSON: JSON.parse refuses them), and as strings. */
const nonFiniteTokens = ['NaN', 'Infinity', '-Infinity', '+Infinity', 'nan', 'undefined'];
const nonFiniteStrings = ['"NaN"', '"Infinity"', '"-Infinity"', '"-0"', '"1e400"'];
/** Numbers JSON.parse reads, but not as what they say: overflow to ±Infinity, past 2^53, -0. */
const awkwardNumbers = ['1e400', '-1e400', '-0', '-0.0', '0e0', '9007199254740993', '18446744073709551616', '1e21', '5e-324', '1.7976931348623157e308'];
/** Not JSON at all. */
const invalidTokens = ['01', '.5', '0x10', "'single'", '1.', '-', 'tru', '"unterminated', '[1,]', '{"a":1,}'];

const deep = fc.record({ nested: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1000, max: 12_000 })), shape: fc.constantFrom<'array' | 'object'>('array', 'object'), inner: fc.constantFrom('1', 'null', '[]', '"x"') });

/** Any JSON value of any type, plus tokens that are not JSON: what "wrong type" draws from. */
export const anyValue: fc.Arbitrary<Fragment> = fc.oneof(
  { arbitrary: fc.constantFrom('null', 'true', 'false', '0', '-1', '1.5', '""', '"x"', '[]', '{}', '[1,2]', '{"a":1}').map(text), weight: 8 },
  { arbitrary: fc.double().filter(Number.isFinite).map((n) => text(JSON.stringify(n))), weight: 2 },
  { arbitrary: jsonString(deviceIdString), weight: 2 },
  { arbitrary: fc.constantFrom(...awkwardNumbers, ...nonFiniteStrings).map(text), weight: 2 },
  { arbitrary: fc.constantFrom(...nonFiniteTokens, ...invalidTokens).map(text), weight: 1 },
  { arbitrary: deep, weight: 1 },
  { arbitrary: fc.record({ longString: fc.integer({ min: 200, max: 3000 }), unit: fc.constantFrom('x', '\u{1F600}') }), weight: 1 },
);

export const finiteDouble = fc.double({ noNaN: true, noDefaultInfinity: true });
const numberText = (n: number): Fragment => text(JSON.stringify(n));

export const epochMillis = fc.integer({ min: 0, max: 4_102_444_800_000 });

/** `date` shown in the zone `offsetMinutes` east of UTC, at one of the precisions ISO 8601 allows. */
export function isoDateTime(millis: number, offsetMinutes: number, precision: 'minutes' | 'seconds' | 'millis' | 'nanos', zulu: boolean): string {
  const local = new Date(millis + offsetMinutes * 60_000).toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ for years 0..9999
  const upTo = { minutes: 16, seconds: 19, millis: 23, nanos: 23 }[precision];
  const body = local.slice(0, upTo) + (precision === 'nanos' ? '456789' : '');
  if (zulu && offsetMinutes === 0) return `${body}Z`;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${body}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

const isoValid = fc
  .tuple(
    // years 0000..9999 (what a 4-digit year holds) even after the zone shift
    fc.integer({ min: Date.parse('0000-01-02T00:00:00Z'), max: Date.parse('9999-12-30T00:00:00Z') }),
    fc.oneof(fc.constant(0), fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 })),
    fc.constantFrom<'minutes' | 'seconds' | 'millis' | 'nanos'>('minutes', 'seconds', 'millis', 'nanos'),
    fc.boolean(),
  )
  .map(([millis, offset, precision, zulu]) => JSON.stringify(isoDateTime(millis, offset, precision, zulu)));

/** Dates Date.parse reads although they do not exist, zones missing or out of range, other forms. */
const isoTricky = [
  '2023-02-29T00:00:00Z', '2024-02-29T12:00:00Z', '1900-02-29T00:00Z', '2000-02-29T00:00Z', '0000-02-29T00:00Z', '2025-04-31T00:00Z',
  '2025-02-30T08:00+01:00', '2025-01-01T24:00Z', '2025-01-01T24:00:00.000Z', '2025-01-01T24:00:01Z', '2025-13-01T00:00Z', '2025-00-10T00:00Z',
  '2025-01-00T00:00Z', '2025-01-01T00:00:60Z', '2025-01-01T00:60Z', '2025-01-01T00:00+24:00', '2025-01-01T00:00+23:59', '2025-01-01T00:00-00:00',
  '2025-01-01T00:00:00', '2025-01-01', '2025-01-01 00:00:00Z', '2025-01-01T00:00:00z', '+002025-01-01T00:00Z', '9999-12-31T23:59:59.999Z',
  '0000-01-01T00:00:00Z', '1763000000000', '',
].map((value) => JSON.stringify(value));

/** Epoch ms at and around the limits: a Date's ±8.64e15, Avro's long range (-2^52 .. 2^53 - 2). */
const eventTimeEdges = ['8640000000000000', '8640000000000001', '-8640000000000000', String(AVRO_LONG_MIN), String(AVRO_LONG_MIN - 1), '-5000000000000000', String(AVRO_LONG_MAX), '-1', '0', '1763000000000.5'];

const eventTime: fc.Arbitrary<Fragment> = fc.oneof(
  { arbitrary: epochMillis.map(numberText), weight: 12 },
  { arbitrary: isoValid.map(text), weight: 6 },
  { arbitrary: fc.constantFrom(...isoTricky).map(text), weight: 2 },
  { arbitrary: fc.constantFrom(...eventTimeEdges).map(text), weight: 2 },
);

const seqEdges = ['-1', '-0', '0', String(AVRO_LONG_MAX), String(AVRO_LONG_MAX + 1), '9007199254740992', '9007199254740993', '-9007199254740991', '1.5', '"5"'];
const seq: fc.Arbitrary<Fragment> = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: AVRO_LONG_MAX }).map(numberText), weight: 6 },
  { arbitrary: fc.integer({ min: 0, max: 10_000 }).map(numberText), weight: 6 },
  { arbitrary: fc.constantFrom(...seqEdges).map(text), weight: 2 },
);

const metricName: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.stringMatching(/^[a-z][a-zA-Z0-9_]{0,11}$/), weight: 40 },
  { arbitrary: fc.constantFrom('', '__proto__', 'constructor', 'toString', '0', '\u0000', ...loneSurrogates, ...emojiPieces, ...rtlPieces), weight: 2 },
);

const metricValue: fc.Arbitrary<Fragment> = fc.oneof(
  { arbitrary: finiteDouble.map(numberText), weight: 40 },
  { arbitrary: fc.constantFrom('-0', '1e400', 'NaN', 'Infinity', 'null', 'true', '"1"', '"NaN"', '[]', '{}').map(text), weight: 1 },
);

const metrics: fc.Arbitrary<Fragment> = fc.oneof(
  { arbitrary: fc.array(fc.tuple(metricName, metricValue), { maxLength: 5 }).map((entries) => text(`{${entries.map(([name, value]) => `${JSON.stringify(name)}:${fragmentText(value)}`).join(',')}}`)), weight: 12 },
  { arbitrary: fc.constantFrom(999, 1000, 1001).map((metricCount) => ({ metricCount })), weight: 1 },
);

/** A double near a range's bounds, inside and outside, or anywhere. */
const around = (min: number, max: number): fc.Arbitrary<Fragment> =>
  fc.oneof(
    { arbitrary: fc.double({ min, max, noNaN: true }).map(numberText), weight: 24 },
    { arbitrary: fc.constantFrom(min, max, min - 1e-9, max + 1e-9, max + 1).map(numberText), weight: 3 },
    { arbitrary: fc.constantFrom('-0', '1e400', '"1"', 'null').map(text), weight: 1 },
  );

const location: fc.Arbitrary<Fragment> = fc.oneof(
  { arbitrary: fc.constant(text('null')), weight: 2 },
  {
    arbitrary: fc
      .record({ lat: around(-90, 90), lon: around(-180, 180), alt: fc.option(fc.oneof(finiteDouble.map(numberText), fc.constantFrom('1e400', '"high"').map(text)), { nil: undefined }) })
      .map(({ lat, lon, alt }) => text(`{"lat":${fragmentText(lat)},"lon":${fragmentText(lon)}${alt === undefined ? '' : `,"alt":${fragmentText(alt)}`}}`)),
    weight: 6,
  },
);

const firmware: fc.Arbitrary<Fragment> = fc.oneof({ arbitrary: fc.stringMatching(/^[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,3}$/).map((version) => text(JSON.stringify(version))), weight: 12 }, { arbitrary: jsonString(deviceIdString), weight: 3 }, { arbitrary: fc.constant(text('null')), weight: 1 });

/** The reading fields and what each may hold when it is meant to be right (often still wrong at the edges). */
const READING_FIELDS: ReadonlyArray<[string, fc.Arbitrary<Fragment>, boolean]> = [
  ['deviceId', jsonString(deviceIdString), true],
  ['deviceType', jsonString(fc.oneof({ arbitrary: fc.constantFrom('smart-meter', 'thermostat', 'tracker'), weight: 8 }, { arbitrary: deviceIdString, weight: 2 })), true],
  ['eventTime', eventTime, true],
  ['seq', seq, true],
  ['metrics', metrics, true],
  ['location', location, false],
  ['battery', around(0, 100), false],
  ['firmware', firmware, false],
];

/** One field: as meant (most of the time), of a wrong type, or left out. Optional fields are often left out. */
function fieldArbitrary(values: fc.Arbitrary<Fragment>, required: boolean): fc.Arbitrary<Fragment | null> {
  return fc.oneof(
    { arbitrary: values, weight: required ? 60 : 20 },
    { arbitrary: anyValue, weight: 1 },
    { arbitrary: fc.constant(null), weight: required ? 1 : 20 },
  );
}

/** Fields a reading does not have: ignored by the rules, however big or deep. */
const extraField: fc.Arbitrary<[string, Fragment]> = fc.tuple(fc.constantFrom('diagnostics', '__proto__', '', 'ingestTime', 'deviceId', '\u{1F600}', 'seq'), anyValue);

export interface ReadingSpec {
  fields: Array<[string, Fragment]>;
}

export const readingSpec: fc.Arbitrary<ReadingSpec> = fc
  .tuple(fc.tuple(...READING_FIELDS.map(([, values, required]) => fieldArbitrary(values, required))), fc.array(extraField, { maxLength: 2 }), fc.nat(9))
  .map(([values, extras, extrasFirst]) => {
    const fields: Array<[string, Fragment]> = [];
    values.forEach((value, index) => {
      if (value !== null) fields.push([READING_FIELDS[index]![0], value]);
    });
    // Mostly after the fields; sometimes before, where a duplicate key loses to the field.
    return { fields: extrasFirst === 0 ? [...extras, ...fields] : [...fields, ...extras] };
  });

/**
 * Readings the rules accept, but for what the extras add (an ignored field can still make the
 * reading too large): unicode ids, ISO times with zones, -0, the limits themselves. Requests of
 * several items are all-or-nothing, so without these almost none would be stored.
 */
export const validReadingSpec: fc.Arbitrary<ReadingSpec> = fc
  .record({
    deviceId: jsonString(deviceIdString.filter((id) => id.length >= 1 && id.length <= 256 && isWellFormedUtf16(id))),
    deviceType: fc.constantFrom('smart-meter', 'thermostat', '\u{1F321}\uFE0F').map((type) => text(JSON.stringify(type))),
    eventTime: fc.oneof(epochMillis.map(numberText), isoValid.map(text), fc.constantFrom('8640000000000000', String(AVRO_LONG_MIN), '-0').map(text)),
    seq: fc.oneof(fc.integer({ min: 0, max: AVRO_LONG_MAX }).map(numberText), fc.constantFrom('-0', String(AVRO_LONG_MAX)).map(text)),
    metrics: fc.dictionary(fc.stringMatching(/^[a-z][a-zA-Z0-9_]{0,11}$/), finiteDouble, { maxKeys: 5 }).map((values) => text(JSON.stringify(values))),
    location: fc.option(fc.record({ lat: fc.double({ min: -90, max: 90, noNaN: true }), lon: fc.double({ min: -180, max: 180, noNaN: true }), alt: fc.option(finiteDouble) }).map((value) => text(JSON.stringify(value))), { nil: undefined }),
    battery: fc.option(fc.double({ min: 0, max: 100, noNaN: true }).map(numberText), { nil: undefined }),
    extra: fc.option(extraField, { freq: 4, nil: undefined }),
  })
  .map(({ extra, ...fields }) => {
    const pairs = Object.entries(fields).filter((pair): pair is [string, Fragment] => pair[1] !== undefined);
    // An extra keyed like a reading field would override it (the last duplicate key wins): keep it first.
    return { fields: extra ? [extra, ...pairs] : pairs };
  });

export function readingText(spec: ReadingSpec): string {
  return `{${spec.fields.map(([name, value]) => `${JSON.stringify(name)}:${fragmentText(value)}`).join(',')}}`;
}

/** A valid reading's JSON text, for the runs' control messages. */
export function plainReadingText(deviceId: string, seqNumber: number): string {
  return JSON.stringify({ deviceId, deviceType: 'fuzz-control', eventTime: 1_763_000_000_000 + seqNumber, seq: seqNumber, metrics: { powerW: seqNumber } });
}

// ---------------------------------------------------------------- whole payloads

/** How a reading's text is wrapped on the wire. */
export type Wrap = 'plain' | 'array' | 'string' | 'bom' | 'spaces' | 'garbage' | { cut: number };

const wrap: fc.Arbitrary<Wrap> = fc.oneof(
  { arbitrary: fc.constant<Wrap>('plain'), weight: 30 },
  { arbitrary: fc.constantFrom<Wrap>('array', 'string', 'bom', 'spaces', 'garbage'), weight: 5 },
  { arbitrary: fc.nat().map((cut): Wrap => ({ cut })), weight: 1 },
);

function wrapText(value: string, how: Wrap): string {
  switch (how) {
    case 'plain':
      return value;
    case 'array':
      return `[${value}]`;
    case 'string':
      return JSON.stringify(value);
    case 'bom':
      return `\uFEFF${value}`;
    case 'spaces':
      return ` \t\r\n${value}\n `;
    case 'garbage':
      return `${value}x`;
    default:
      return value.slice(0, how.cut % value.length);
  }
}

/** Bytes that are not UTF-8: a lone surrogate's encoding, an overlong NUL, 0xFF, past U+10FFFF, a stray continuation. */
export const INVALID_UTF8 = [[0xed, 0xa0, 0x80], [0xc0, 0x80], [0xff], [0xf4, 0x90, 0x80, 0x80], [0x80]];

export interface Utf8Damage {
  at: number;
  bytes: number[];
}

const utf8Damage: fc.Arbitrary<Utf8Damage | null> = fc.oneof({ arbitrary: fc.constant(null), weight: 30 }, { arbitrary: fc.record({ at: fc.nat(), bytes: fc.constantFrom(...INVALID_UTF8) }), weight: 1 });

function damaged(bytes: Buffer, damage: Utf8Damage | null): Buffer {
  if (damage === null) return bytes;
  const at = damage.at % (bytes.length + 1);
  return Buffer.concat([bytes.subarray(0, at), Buffer.from(damage.bytes), bytes.subarray(at)]);
}

/** One message's payload, as JSON or what tries to pass for it (Avro payloads: fuzzAvroPayloads.ts). */
export type JsonPayloadSpec =
  | { json: ReadingSpec; wrap: Wrap; damage: Utf8Damage | null }
  /** any JSON value (or non-JSON token) as the whole payload */
  | { value: Fragment }
  | { raw: number[] }
  /** a valid reading padded with an ignored field to exactly `huge` bytes */
  | { huge: number; deviceId: string };

/** Sizes around a limit (both sides, and exactly at it) and far over it. */
function sizesAround(limit: number, farOver: fc.Arbitrary<number> | undefined): fc.Arbitrary<number> {
  const near = fc.integer({ min: limit - 3, max: limit + 3 });
  const spread = fc.integer({ min: Math.floor(limit / 2), max: limit * 3 });
  return farOver ? fc.oneof({ arbitrary: near, weight: 4 }, { arbitrary: spread, weight: 4 }, { arbitrary: farOver, weight: 1 }) : fc.oneof(near, spread);
}

export interface PayloadOptions {
  maxPayloadBytes: number;
  /** Payloads far over the limit (a megabyte and more) now and then. */
  farOver?: fc.Arbitrary<number>;
}

const safeDeviceId = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);

export function payloadSpec(options: PayloadOptions): fc.Arbitrary<JsonPayloadSpec> {
  return fc.oneof(
    { arbitrary: fc.record({ json: readingSpec, wrap, damage: utf8Damage }), weight: 30 },
    { arbitrary: anyValue.map((value) => ({ value })), weight: 3 },
    { arbitrary: fc.oneof(fc.uint8Array({ maxLength: 48 }), fc.uint8Array({ maxLength: 48, min: 0x20, max: 0x7e })).map((bytes) => ({ raw: [...bytes] })), weight: 3 },
    { arbitrary: fc.record({ huge: sizesAround(options.maxPayloadBytes, options.farOver), deviceId: safeDeviceId }), weight: 2 },
  );
}

/** The bytes a payload spec stands for. */
export function jsonPayloadBytes(spec: JsonPayloadSpec): Buffer {
  if ('raw' in spec) return Buffer.from(spec.raw);
  if ('value' in spec) return Buffer.from(fragmentText(spec.value));
  if ('huge' in spec) {
    const base = `{"deviceId":${JSON.stringify(spec.deviceId)},"deviceType":"padded","eventTime":1763000000000,"seq":${spec.huge},"metrics":{"size":${spec.huge}},"pad":""}`;
    return Buffer.from(`${base.slice(0, -2)}${'x'.repeat(Math.max(0, spec.huge - base.length))}"}`);
  }
  return damaged(Buffer.from(wrapText(readingText(spec.json), spec.wrap)), spec.damage);
}

/**
 * A batch that prints as its size: the whole batch can run to megabytes. A failure names the
 * messages that went wrong (with describeSpec), and fast-check's seed and path replay the batch.
 */
export function batchOf<T>(item: fc.Arbitrary<T>, constraints: fc.ArrayConstraints): fc.Arbitrary<T[]> {
  return fc.array(item, constraints).map((items) => Object.assign(items, { [fc.toStringMethod]: () => `[a batch of ${items.length}; replay with the seed and path]` }));
}

/** A short description of a spec, for failure messages. */
export function describeSpec(spec: unknown): string {
  const shown = JSON.stringify(spec, (_key, value: unknown) => (typeof value === 'string' && value.length > 60 ? `${value.slice(0, 60)}...(${value.length})` : value));
  return shown.length > 300 ? `${shown.slice(0, 300)}...` : shown;
}
