/**
 * Avro payloads for the fuzz tests: arbitraries of specs, and avroPayload turning a spec into bytes
 * and what ingest must make of them. The verdict comes from how the bytes were built (a whole
 * encoding, a cut one, an unknown id, ...) and, for a whole TelemetryReading, from the documented
 * rules on the value that was encoded.
 */
import fc from 'fast-check';
import type { AvroCodec } from '../../schemas/avroCodec';
import { AVRO_LONG_MAX, AVRO_LONG_MIN } from '../../schemas/avroSchema';
import { SUBJECTS } from '../../schemas/sluiceSchemas';
import { emojiPieces, encodableString, epochMillis, finiteDouble } from './fuzzPayloads';
import type { Verdict } from './telemetryOracle';
import { judgeReading } from './telemetryOracle';

/** What an Avro payload is made of; avroPayload encodes it with the registry. */
export interface AvroReadingValue {
  deviceId: string;
  deviceType: string;
  eventTime: number;
  seq: number;
  metrics: Record<string, number>;
  location: { lat: number; lon: number; alt?: number | null } | null;
  battery: number | null;
  firmware: string | null;
  ingestTime: number | null;
}

const avroLong = (edges: number[]) => fc.oneof({ arbitrary: fc.integer({ min: AVRO_LONG_MIN, max: AVRO_LONG_MAX }), weight: 1 }, { arbitrary: fc.constantFrom(...edges), weight: 2 });

const mostlyIn = (min: number, max: number) => fc.oneof({ arbitrary: fc.double({ min, max, noNaN: true }), weight: 6 }, { arbitrary: fc.double(), weight: 1 });

/** Readings an Avro writer can hold (well-formed strings, longs in range), valid or not by ingest's rules. */
export const avroReadingValue: fc.Arbitrary<AvroReadingValue> = fc.record({
  deviceId: encodableString,
  deviceType: fc.oneof({ arbitrary: fc.constant('smart-meter'), weight: 4 }, { arbitrary: encodableString, weight: 1 }),
  eventTime: fc.oneof({ arbitrary: epochMillis, weight: 4 }, { arbitrary: avroLong([8.64e15, 8.64e15 + 1, -(8.64e15 / 2), AVRO_LONG_MIN, AVRO_LONG_MAX, -0]), weight: 1 }),
  seq: fc.oneof({ arbitrary: fc.integer({ min: 0, max: AVRO_LONG_MAX }), weight: 4 }, { arbitrary: avroLong([-1, AVRO_LONG_MIN, AVRO_LONG_MAX, -0]), weight: 1 }),
  metrics: fc.dictionary(
    fc.oneof({ arbitrary: fc.stringMatching(/^[a-z][a-z0-9_]{0,9}$/), weight: 10 }, { arbitrary: fc.constantFrom('', '\u0000', ...emojiPieces), weight: 1 }),
    fc.oneof({ arbitrary: finiteDouble, weight: 10 }, { arbitrary: fc.constantFrom(Number.NaN, Infinity, -Infinity, -0), weight: 1 }),
    { maxKeys: 5 },
  ),
  location: fc.option(fc.record({ lat: mostlyIn(-90, 90), lon: mostlyIn(-180, 180), alt: fc.option(fc.double()) })),
  battery: fc.option(mostlyIn(0, 100)),
  firmware: fc.option(encodableString),
  ingestTime: fc.option(fc.integer({ min: 0, max: AVRO_LONG_MAX })),
});

/** Varints no Avro body of a TelemetryReading can have where a map's item count goes. */
export const HOSTILE_COUNTS: number[][] = [
  [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // 2^41 / 2 items, zig-zag positive
  [0xff, 0xff, 0xff, 0xff, 0x0f], // -2^31 items: a negative count, then a block size
  Array.from({ length: 11 }, () => 0xff), // a varint longer than any long
  [...Array.from({ length: 9 }, () => 0xff), 0x01], // the largest 10-byte varint
];

export type AvroSpec =
  | { form: 'whole'; reading: AvroReadingValue }
  | { form: 'cut'; reading: AvroReadingValue; at: number }
  | { form: 'trailing'; reading: AvroReadingValue; extra: number[] }
  /** a count that cannot fit where the metrics map starts, then random bytes */
  | { form: 'hostileCount'; reading: AvroReadingValue; count: number[]; rest: number[] }
  | { form: 'unknownId'; schemaId: number; body: number[] }
  /** another registered record type, whole or cut */
  | { form: 'otherSchema'; subject: 'deadLetter' | 'aggregate'; cut: number | null };

/** Schema ids a fresh registry never gives out when sluice's five schemas are its only ones. */
export const unknownSchemaId = fc.oneof(fc.constant(0), fc.integer({ min: 6, max: 1000 }), fc.integer({ min: 1001, max: 0xffffffff }));

export const avroSpec: fc.Arbitrary<AvroSpec> = fc.oneof(
  { arbitrary: avroReadingValue.map((reading) => ({ form: 'whole' as const, reading })), weight: 6 },
  { arbitrary: fc.record({ form: fc.constant('cut' as const), reading: avroReadingValue, at: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ form: fc.constant('trailing' as const), reading: avroReadingValue, extra: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }), weight: 1 },
  {
    arbitrary: fc.record({ form: fc.constant('hostileCount' as const), reading: avroReadingValue, count: fc.constantFrom(...HOSTILE_COUNTS), rest: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }) }),
    weight: 1,
  },
  { arbitrary: fc.record({ form: fc.constant('unknownId' as const), schemaId: unknownSchemaId, body: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 30 }) }), weight: 1 },
  { arbitrary: fc.record({ form: fc.constant('otherSchema' as const), subject: fc.constantFrom<'deadLetter' | 'aggregate'>('deadLetter', 'aggregate'), cut: fc.option(fc.nat()) }), weight: 1 },
);


/** The 5-byte Confluent header. */
export function avroHeader(schemaId: number): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  return header;
}

/** Avro's zig-zag varint, for any safe integer (arithmetic, not 32-bit bitwise). */
export function avroVarint(value: number): Buffer {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  const bytes: number[] = [];
  while (zigzag >= 0x80) {
    bytes.push((zigzag % 0x80) | 0x80);
    zigzag = Math.floor(zigzag / 0x80);
  }
  bytes.push(zigzag);
  return Buffer.from(bytes);
}

export function avroString(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  return Buffer.concat([avroVarint(bytes.length), bytes]);
}

const DEAD_LETTER_SAMPLE = { reasonCode: 'bad_json', message: 'x', source: { kind: 'mqtt', address: 'devices/d/telemetry' }, original: Buffer.from('{'), firstSeenAt: 1, attempts: 1, headers: null };
const AGGREGATE_SAMPLE = {
  scope: 'device', scopeId: 'd', windowKind: 'tumbling', windowStart: 0, windowEnd: 60_000, metric: 'powerW', count: 1, sum: 1, min: 1, max: 1, mean: 1, m2: 0,
  firstValue: 1, firstTime: 0, lastValue: 1, lastTime: 0, percentiles: null,
};

/** A cut that leaves at least one byte and removes at least one. */
function cutShort(bytes: Buffer, at: number): Buffer {
  return bytes.subarray(0, 1 + (at % (bytes.length - 1)));
}

export async function avroPayload(codec: AvroCodec, telemetrySchemaId: number, spec: AvroSpec, topicDevice: string): Promise<{ payload: Buffer; verdict: Verdict }> {
  switch (spec.form) {
    case 'whole':
      return { payload: await codec.encode(SUBJECTS.telemetryReading, spec.reading), verdict: judgeReading(spec.reading, topicDevice) };
    case 'cut':
      return { payload: cutShort(await codec.encode(SUBJECTS.telemetryReading, spec.reading), spec.at), verdict: { rejected: 'bad_avro' } };
    case 'trailing':
      return { payload: Buffer.concat([await codec.encode(SUBJECTS.telemetryReading, spec.reading), Buffer.from(spec.extra)]), verdict: { rejected: 'bad_avro' } };
    case 'hostileCount': {
      const { deviceId, deviceType, eventTime, seq } = spec.reading;
      const prefix = [avroHeader(telemetrySchemaId), avroString(deviceId), avroString(deviceType), avroVarint(eventTime), avroVarint(seq)];
      return { payload: Buffer.concat([...prefix, Buffer.from(spec.count), Buffer.from(spec.rest)]), verdict: { rejected: 'bad_avro' } };
    }
    case 'unknownId':
      return { payload: Buffer.concat([avroHeader(spec.schemaId), Buffer.from(spec.body)]), verdict: { rejected: 'unknown_schema' } };
    case 'otherSchema': {
      const whole = spec.subject === 'deadLetter' ? await codec.encode(SUBJECTS.deadLetter, DEAD_LETTER_SAMPLE) : await codec.encode(SUBJECTS.aggregate, AGGREGATE_SAMPLE);
      return spec.cut === null ? { payload: whole, verdict: { rejected: 'schema_violation' } } : { payload: cutShort(whole, spec.cut), verdict: { rejected: 'bad_avro' } };
    }
  }
}
