import type { BodyProblem } from '../../schemas/avroBodyCheck';
import { MAX_ZERO_SIZE_ITEMS, compileBodyCheck } from '../../schemas/avroBodyCheck';
import type { AvroSchema } from '../../schemas/avroSchema';
import { createAvroType } from '../../schemas/avroSchema';

function check(schema: AvroSchema, bytes: number[]): BodyProblem | undefined {
  return compileBodyCheck(createAvroType(schema))(Buffer.from(bytes));
}

/** Zig-zag varint bytes of a safe integer. */
function varint(n: number): number[] {
  let unsigned = n >= 0 ? BigInt(n) * 2n : -BigInt(n) * 2n - 1n;
  const bytes: number[] = [];
  do {
    const low = Number(unsigned & 0x7fn);
    unsigned >>= 7n;
    bytes.push(unsigned > 0n ? low | 0x80 : low);
  } while (unsigned > 0n);
  return bytes;
}

describe('compileBodyCheck', () => {
  it('accepts exactly what avsc writes, for every primitive', () => {
    const schema = {
      type: 'record',
      name: 'All',
      fields: ['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string'].map((type) => ({ name: `f_${type}`, type })),
    };
    const type = createAvroType(schema);
    const bytes = type.toBuffer({ f_null: null, f_boolean: true, f_int: -(2 ** 31), f_long: -(2 ** 52), f_float: 1.5, f_double: -0, f_bytes: Buffer.from([1, 2]), f_string: 'h\u00e9' });
    expect(compileBodyCheck(type)(bytes)).toBeUndefined();
  });

  it.each<[string, AvroSchema, number[], BodyProblem['reason'], string]>([
    ['a boolean byte other than 0 or 1', 'boolean', [2], 'invalid_body', 'boolean byte must be 0 or 1'],
    ['an int outside int32', 'int', varint(2 ** 31), 'invalid_body', 'outside the int range'],
    ['an int varint longer than 5 bytes', 'int', [0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 'invalid_body', 'longer than 5 bytes'],
    ['a long varint longer than 10 bytes', 'long', [...Array(10).fill(0xff), 0x01], 'invalid_body', 'longer than 10 bytes'],
    ['a varint cut short', 'long', [0x80], 'truncated', 'ends inside a varint'],
    ['a negative string length', 'string', varint(-3), 'invalid_body', 'negative string length'],
    ['bytes longer than what is left', 'bytes', [...varint(10), 1, 2], 'truncated', 'bytes of 10 bytes but only 2 left'],
    ['a double cut short', 'double', [0, 0, 0], 'truncated', 'needs 8 bytes'],
    ['a fixed cut short', { type: 'fixed', name: 'F', size: 4 }, [1, 2], 'truncated', 'needs 4 bytes'],
    ['an enum index past the symbols', { type: 'enum', name: 'E', symbols: ['a', 'b'] }, varint(2), 'invalid_body', 'enum index 2'],
    ['a negative enum index', { type: 'enum', name: 'E', symbols: ['a', 'b'] }, varint(-1), 'invalid_body', 'enum index -1'],
    ['a union index past the branches', ['null', 'string'], varint(2), 'invalid_body', 'union index 2'],
    ['an array block count beyond the bytes left', { type: 'array', items: 'double' }, [...varint(1000), 0], 'truncated', 'block of 1000 items'],
    ['a block size that disagrees with its items', { type: 'array', items: 'int' }, [...varint(-2), ...varint(1), 2, 4, 0], 'invalid_body', 'block size says'],
    ['too many zero-size items', { type: 'array', items: 'null' }, [...varint(MAX_ZERO_SIZE_ITEMS + 1), 0], 'invalid_body', 'empty items'],
    ['a map key that is not UTF-8', { type: 'map', values: 'null' }, [...varint(1), ...varint(1), 0xc3, 0], 'invalid_body', 'not valid UTF-8'],
    ['bytes after the value', 'int', [2, 0], 'trailing_bytes', '1 bytes left'],
  ])('refuses %s', (_name, schema, bytes, reason, detail) => {
    const problem = check(schema, bytes);
    expect(problem?.reason).toBe(reason);
    expect(problem?.detail).toContain(detail);
  });

  it('accepts negative block counts with a correct byte size, as Avro allows', () => {
    const ints = [...varint(3), ...varint(-2)]; // two ints, 2 bytes
    expect(check({ type: 'array', items: 'int' }, [...varint(-2), ...varint(ints.length), ...ints, 0])).toBeUndefined();
    expect(createAvroType({ type: 'array', items: 'int' }).fromBuffer(Buffer.from([...varint(-2), ...varint(ints.length), ...ints, 0]))).toEqual([3, -2]);
  });

  it('names the path of the field that is wrong, through records, unions, maps and arrays', () => {
    const schema = {
      type: 'record',
      name: 'Outer',
      fields: [{ name: 'inner', type: ['null', { type: 'record', name: 'Inner', fields: [{ name: 'tags', type: { type: 'map', values: { type: 'array', items: 'boolean' } } }] }] }],
    };
    // inner: branch 1, tags: 1 entry "k" -> array of 1 boolean with byte 7
    const problem = check(schema, [...varint(1), ...varint(1), ...varint(1), 0x6b, ...varint(1), 7, 0, 0]);
    expect(problem).toEqual({ reason: 'invalid_body', detail: 'inner.tags[*][]: boolean byte must be 0 or 1, got 7' });
  });

  it('walks recursive schemas and refuses nesting deeper than the stack as invalid_body', () => {
    const list = { type: 'record', name: 'Node', fields: [{ name: 'next', type: ['null', 'Node'] }] };
    expect(check(list, [2, 2, 0])).toBeUndefined();
    const deep = Buffer.alloc(2_000_000, 2); // "another node" over and over
    const problem = compileBodyCheck(createAvroType(list))(deep);
    expect(problem?.reason).toBe('invalid_body');
    expect(problem?.detail).toContain('nesting too deep');
  });
});
