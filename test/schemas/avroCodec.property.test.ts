/**
 * Properties of the codec: every valid value of every schema survives a round trip (and re-encodes
 * to the same bytes), and any byte array either decodes to a valid, re-encodable value or is refused
 * with a CodecError - never another error, never a hang.
 */
import fc from 'fast-check';
import { AvroCodec } from '../../schemas/avroCodec';
import { CodecError, DECODE_REASONS } from '../../schemas/schemaErrors';
import { SLUICE_SUBJECTS, SUBJECTS, registerSluiceSchemas } from '../../schemas/sluiceSchemas';
import type { SluiceSubject } from '../../schemas/sluiceSchemas';
import * as arbitraries from './arbitraries';
import type { TempRegistry } from './tempRegistry';
import { tempRegistry, wireHeader } from './tempRegistry';

interface SchemaCase {
  subject: SluiceSubject;
  values: fc.Arbitrary<unknown>;
  /** What a value reads back as. */
  expected: (value: never) => unknown;
}

const CASES: SchemaCase[] = [
  { subject: SUBJECTS.telemetryReading, values: arbitraries.telemetryReading, expected: arbitraries.expectedTelemetryReading },
  { subject: SUBJECTS.aggregate, values: arbitraries.aggregate, expected: (value: object) => arbitraries.withNullDefaults(value, ['percentiles']) },
  { subject: SUBJECTS.alert, values: arbitraries.alert, expected: (value: unknown) => value },
  { subject: SUBJECTS.deadLetter, values: arbitraries.deadLetter, expected: (value: object) => arbitraries.withNullDefaults(value, ['headers']) },
  { subject: SUBJECTS.enrichedReading, values: arbitraries.enrichedReading, expected: arbitraries.expectedEnrichedReading },
];

describe('AvroCodec properties', () => {
  let temp: TempRegistry;
  let ids: Record<SluiceSubject, number>;
  let codec: AvroCodec;

  beforeAll(async () => {
    temp = tempRegistry();
    ids = await registerSluiceSchemas(temp.registry);
    codec = new AvroCodec(temp.registry);
  });

  afterAll(async () => {
    await temp.cleanup();
  });

  it('covers every sluice schema', () => {
    expect(CASES.map((schemaCase) => schemaCase.subject)).toEqual([...SLUICE_SUBJECTS]);
  });

  it.each(CASES)('round-trips every valid $subject value and re-encodes it to the same bytes', async ({ subject, values, expected }) => {
    await fc.assert(
      fc.asyncProperty(values, async (value) => {
        const bytes = await codec.encode(subject, value);
        const decoded = await codec.decode(bytes);
        expect(decoded).toEqual(expected(value as never));
        expect(await codec.encode(subject, decoded)).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes any byte array to a valid value or refuses it with a CodecError', async () => {
    // Valid messages to mutate: random bytes alone almost never get past the magic byte and id.
    const validMessages: Buffer[] = [];
    for (const { subject, values } of CASES) {
      for (const value of fc.sample(values, { numRuns: 25, seed: 42 })) validMessages.push(await codec.encode(subject, value));
    }
    const knownIds = Object.values(ids);
    const mutated = fc
      .record({
        message: fc.constantFrom(...validMessages),
        kind: fc.constantFrom('truncate', 'flip', 'overwrite', 'insert', 'append'),
        position: fc.nat(),
        byte: fc.integer({ min: 0, max: 255 }),
        extra: fc.uint8Array({ minLength: 1, maxLength: 16 }),
      })
      .map(({ message, kind, position, byte, extra }) => {
        const at = position % message.length;
        const copy = Buffer.from(message);
        switch (kind) {
          case 'truncate':
            return copy.subarray(0, at);
          case 'flip':
            copy[at] = (copy[at] as number) ^ (1 << byte % 8);
            return copy;
          case 'overwrite':
            copy[at] = byte;
            return copy;
          case 'insert':
            return Buffer.concat([copy.subarray(0, at), extra, copy.subarray(at)]);
          default:
            return Buffer.concat([copy, extra]);
        }
      });
    const messages = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.tuple(fc.constantFrom(...knownIds), fc.uint8Array({ maxLength: 96 })).map(([id, body]) => Buffer.concat([wireHeader(id), body])),
      mutated,
    );

    await fc.assert(
      fc.asyncProperty(messages, async (bytes) => {
        let decoded: { schemaId: number; value: unknown };
        try {
          decoded = await codec.decodeMessage(bytes);
        } catch (error) {
          if (!(error instanceof CodecError)) throw error;
          expect(DECODE_REASONS).toContain(error.reason);
          return;
        }
        const writer = await temp.registry.getById(decoded.schemaId);
        expect(writer?.type.isValid(decoded.value)).toBe(true);
        // Whatever decodes must also encode: no value the encoder would refuse slips through.
        await codec.encode(decoded.schemaId, decoded.value);
      }),
      { numRuns: 2000 },
    );
  });
});
