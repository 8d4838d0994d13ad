import { createAvroType } from '../../schemas/avroSchema';
import { compileEncodeHazardCheck, describeType, findInvalidFields } from '../../schemas/avroValueCheck';
import { SUBJECTS, loadSluiceSchema } from '../../schemas/sluiceSchemas';

const nested = createAvroType({
  type: 'record',
  name: 'Outer',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'groups', type: { type: 'array', items: { type: 'map', values: ['null', 'string'] } } },
    { name: 'child', type: ['null', { type: 'record', name: 'Child', fields: [{ name: 'labels', type: { type: 'map', values: 'string' } }] }], default: null },
    { name: 'count', type: 'int' },
  ],
});

describe('findInvalidFields', () => {
  it('returns nothing for a valid value', () => {
    expect(findInvalidFields(nested, { id: 1, groups: [{ a: null, b: 'x' }], count: 3 })).toEqual([]);
  });

  it('names every invalid field with a dotted path and what was expected', () => {
    expect(findInvalidFields(nested, { id: 'one', groups: [{ a: 5 }], child: { labels: { k: 1 } }, count: 2 ** 31 })).toEqual([
      { path: 'id', problem: 'expected long (an integer within ±(2^53 - 2)), got "one"' },
      { path: 'groups.0.a', problem: 'expected null | string, got number 5' },
      { path: 'child.labels.k', problem: 'expected string, got number 1' },
      { path: 'count', problem: 'expected int (32-bit integer), got number 2147483648' },
    ]);
  });

  it('describes sluice types readably', () => {
    const alert = createAvroType(loadSluiceSchema(SUBJECTS.alert));
    expect(findInvalidFields(alert, {})[0]).toEqual({ path: 'alertId', problem: 'expected string, got undefined (missing)' });
    expect(describeType(createAvroType(loadSluiceSchema(SUBJECTS.telemetryReading)))).toBe('record dev.sluice.TelemetryReading');
  });
});

describe('compileEncodeHazardCheck', () => {
  const check = compileEncodeHazardCheck(nested);

  it('finds a "__proto__" key in a map nested in an array or a union branch', () => {
    expect(check?.({ id: 1, groups: [{ ok: 'x' }, JSON.parse('{"__proto__":"y"}')], count: 1 })?.path).toBe('groups.[].__proto__');
    expect(check?.({ id: 1, groups: [], child: { labels: JSON.parse('{"__proto__":"y"}') }, count: 1 })?.path).toBe('child.labels.__proto__');
  });

  it('finds lone surrogates in strings and map keys, and longs below -2^52', () => {
    expect(check?.({ id: 1, groups: [{ a: 'x\udfff' }], count: 1 })?.path).toBe('groups.[].*');
    expect(check?.({ id: 1, groups: [], child: { labels: { 'k\ud800': 'v' } }, count: 1 })?.path).toBe('child.labels.k\ud800');
    expect(check?.({ id: -(2 ** 52) - 1, groups: [], count: 1 })).toEqual({ path: 'id', problem: 'long -4503599627370497 is below -2^52, which avsc would write with the wrong sign' });
  });

  it('passes valid values, and leaves values of the wrong shape to avsc validation', () => {
    expect(check?.({ id: -(2 ** 52), groups: [{ '\u{1F600}': 'é' }], child: null, count: 1 })).toBeUndefined();
    expect(check?.({ id: 'x', groups: 'nope', child: 7 })).toBeUndefined();
  });

  it('compiles to nothing for a type with no string, long, map or record', () => {
    expect(compileEncodeHazardCheck(createAvroType({ type: 'array', items: ['null', 'double', { type: 'enum', name: 'E', symbols: ['a'] }] }))).toBeUndefined();
  });

  it('refuses a map or record given as an object that is not plain, naming where; a record avsc decoded passes', () => {
    const point = createAvroType({ type: 'record', name: 'P', fields: [{ name: 'x', type: 'double' }] });
    const pointCheck = compileEncodeHazardCheck(point);
    class Point {
      x = 1;
    }
    expect(pointCheck?.(new Point())).toEqual({ path: '(root)', problem: 'expected record P as a plain object, got an instance of Point' });
    expect(pointCheck?.(Object.assign(Object.create(null) as object, { x: 1 }))).toBeUndefined();
    expect(pointCheck?.(point.fromBuffer(point.toBuffer({ x: 1 })))).toBeUndefined();
    expect(check?.({ id: 1, groups: [new Map([['a', 'x']])], count: 1 })).toEqual({ path: 'groups.[]', problem: 'expected map of null | string as a plain object, got a Map' });
    expect(check?.({ id: 1, groups: [], child: { labels: Buffer.from('ab') }, count: 1 })).toEqual({ path: 'child.labels', problem: 'expected map of string as a plain object, got a Buffer(2)' });
    expect(check?.({ id: 1, groups: [], child: new Date(0), count: 1 })).toEqual({ path: 'child', problem: 'expected record Child as a plain object, got a Date' });
  });

  it('handles recursive schemas', () => {
    const tree = createAvroType({ type: 'record', name: 'Tree', fields: [{ name: 'name', type: 'string' }, { name: 'children', type: { type: 'array', items: 'Tree' } }] });
    const treeCheck = compileEncodeHazardCheck(tree);
    // Inside a recursive type the path is the type's own (where it was first compiled).
    expect(treeCheck?.({ name: 'a', children: [{ name: 'b', children: [{ name: 'bad\ud800', children: [] }] }] })).toEqual({
      path: 'name',
      problem: 'string holds a lone UTF-16 surrogate, which UTF-8 cannot carry',
    });
  });
});
