import type { AvroSchema } from '../../schemas/avroSchema';
import { createAvroType } from '../../schemas/avroSchema';
import { explainIncompatibility } from '../../schemas/compatibility';

const v1 = {
  type: 'record',
  name: 'Reading',
  namespace: 'dev.sluice.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'count', type: 'int' },
    { name: 'level', type: { type: 'enum', name: 'Level', symbols: ['low', 'high'] } },
    { name: 'tags', type: { type: 'map', values: 'string' } },
    { name: 'where', type: ['null', { type: 'record', name: 'Where', fields: [{ name: 'lat', type: 'double' }] }], default: null },
  ],
};

type Field = { name: string; type: unknown; default?: unknown; aliases?: string[] };

function evolve(change: (fields: Field[]) => Field[], top: Record<string, unknown> = {}): AvroSchema {
  return { ...v1, ...top, fields: change(structuredClone(v1.fields) as Field[]) };
}

function explain(reader: AvroSchema, writer: AvroSchema = v1): string | undefined {
  return explainIncompatibility(createAvroType(reader), createAvroType(writer));
}

describe('explainIncompatibility (BACKWARD: the new schema reads data written with the old)', () => {
  it.each<[string, AvroSchema]>([
    ['the same schema', v1],
    ['a new field with a default', evolve((fields) => [...fields, { name: 'unit', type: 'string', default: 'C' }])],
    ['a new optional field', evolve((fields) => [...fields, { name: 'note', type: ['null', 'string'], default: null }])],
    ['a removed field', evolve((fields) => fields.filter((field) => field.name !== 'tags'))],
    ['int promoted to long', evolve((fields) => fields.map((field) => (field.name === 'count' ? { ...field, type: 'long' } : field)))],
    ['a new enum symbol', evolve((fields) => fields.map((field) => (field.name === 'level' ? { ...field, type: { type: 'enum', name: 'Level', symbols: ['low', 'high', 'extreme'] } } : field)))],
    ['a renamed field with an alias', evolve((fields) => fields.map((field) => (field.name === 'id' ? { ...field, name: 'deviceId', aliases: ['id'] } : field)))],
    ['a renamed record with an alias', evolve((fields) => fields, { name: 'Measurement', aliases: ['dev.sluice.test.Reading'] })],
  ])('allows %s', (_name, reader) => {
    expect(explain(reader)).toBeUndefined();
  });

  it.each<[string, AvroSchema, string]>([
    ['a new field without a default', evolve((fields) => [...fields, { name: 'unit', type: 'string' }]), 'unit: new field without a default'],
    [
      'a field type change',
      evolve((fields) => fields.map((field) => (field.name === 'count' ? { ...field, type: 'string' } : field))),
      'count: old int (32-bit integer) cannot be read as string',
    ],
    [
      'a dropped enum symbol',
      evolve((fields) => fields.map((field) => (field.name === 'level' ? { ...field, type: { type: 'enum', name: 'Level', symbols: ['low'] } } : field))),
      'level: enum dev.sluice.test.Level no longer has high',
    ],
    [
      'a map value type change',
      evolve((fields) => fields.map((field) => (field.name === 'tags' ? { ...field, type: { type: 'map', values: 'double' } } : field))),
      'tags[*]: old string cannot be read as double',
    ],
    [
      'a new required field in a nested record',
      evolve((fields) =>
        fields.map((field) =>
          field.name === 'where'
            ? { ...field, type: ['null', { type: 'record', name: 'Where', fields: [{ name: 'lat', type: 'double' }, { name: 'lon', type: 'double' }] }] }
            : field,
        ),
      ),
      'where.lon: new field without a default',
    ],
    ['an optional field made required', evolve((fields) => fields.map((field) => (field.name === 'where' ? { name: 'where', type: 'double' } : field))), 'where'],
    ['a renamed record without an alias', evolve((fields) => fields, { name: 'Measurement' }), 'record dev.sluice.test.Reading is now dev.sluice.test.Measurement'],
  ])('refuses %s, naming what broke', (_name, reader, expected) => {
    expect(explain(reader)).toContain(expected);
  });

  it('refuses long narrowed to int', () => {
    const writer = evolve((fields) => fields.map((field) => (field.name === 'count' ? { ...field, type: 'long' } : field)));
    expect(explain(v1, writer)).toContain('count: old long (an integer within ±(2^53 - 2)) cannot be read as int (32-bit integer)');
  });

  it('finds the broken field of a recursive schema without walking the cycle forever', () => {
    const tree = (extra: Field[]) => ({ type: 'record', name: 'Tree', fields: [{ name: 'children', type: { type: 'array', items: 'Tree' } }, ...extra] });
    expect(explain(tree([{ name: 'label', type: 'string' }]), tree([]))).toContain('label: new field without a default');
  });

  it('refuses a union that lost a branch old data may hold', () => {
    const writer = { type: 'record', name: 'U', fields: [{ name: 'v', type: ['null', 'string', 'double'] }] };
    const reader = { type: 'record', name: 'U', fields: [{ name: 'v', type: ['null', 'string'] }] };
    expect(explain(reader, writer)).toBe('v: old values of type double have no matching branch in null | string');
  });
});
