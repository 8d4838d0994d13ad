import { CodecError } from '../../schemas/schemaErrors';
import { HEADER_LENGTH, MAGIC_BYTE, isValidSchemaId, readSchemaId, writeHeader } from '../../schemas/wireFormat';

describe('Confluent wire format', () => {
  it('writes magic byte 0 and the schema id big-endian, as Confluent serializers do', () => {
    const message = Buffer.alloc(HEADER_LENGTH);
    writeHeader(message, 0x01020304);
    expect([...message]).toEqual([MAGIC_BYTE, 1, 2, 3, 4]);
    expect(readSchemaId(message)).toBe(0x01020304);
  });

  it('reads ids up to 2^32 - 1 as unsigned', () => {
    expect(readSchemaId(Uint8Array.from([0, 0xff, 0xff, 0xff, 0xff, 9]))).toBe(0xffffffff);
  });

  it.each<[string, number[], string]>([
    ['an empty message', [], 'empty'],
    ['a wrong magic byte', [1, 0, 0, 0, 1], 'bad_magic'],
    ['a header cut short', [0, 0, 0, 1], 'truncated'],
  ])('refuses %s', (_name, bytes, reason) => {
    expect(() => readSchemaId(Uint8Array.from(bytes))).toThrow(CodecError);
    try {
      readSchemaId(Uint8Array.from(bytes));
    } catch (error) {
      expect((error as CodecError).reason).toBe(reason);
    }
  });

  it('treats 0 and non-integers as invalid schema ids', () => {
    expect([0, 1, 2 ** 32 - 1, 2 ** 32, 1.5, -1].map(isValidSchemaId)).toEqual([false, true, true, false, false, false]);
  });
});
