import fc from 'fast-check';
import { ConfigError } from '../../../core/errors';
import type { JsonValue } from '../../../runtime/filter/eventPattern';
import { compileEventPattern } from '../../../runtime/filter/eventPattern';

const matches = (pattern: unknown, event: JsonValue): boolean => compileEventPattern(pattern, 'Pattern')(event);

describe('event patterns', () => {
  it('matches exact strings, numbers, booleans and null, any of the listed values', () => {
    expect(matches({ type: ['reading', 'alert'] }, { type: 'alert' })).toBe(true);
    expect(matches({ type: ['reading'] }, { type: 'Reading' })).toBe(false);
    expect(matches({ n: [5] }, { n: 5.0 })).toBe(true);
    expect(matches({ n: [5] }, { n: '5' })).toBe(false);
    expect(matches({ ok: [true] }, { ok: true })).toBe(true);
    expect(matches({ ok: [true] }, { ok: 'true' })).toBe(false);
    expect(matches({ v: [null] }, { v: null })).toBe(true);
    expect(matches({ v: [null] }, {})).toBe(false);
    expect(matches({ v: [''] }, { v: '' })).toBe(true);
  });

  it('ANDs keys and descends into nested objects', () => {
    const pattern = { device: { kind: ['sensor'], site: { id: ['s1'] } }, type: ['reading'] };
    expect(matches(pattern, { device: { kind: 'sensor', site: { id: 's1' } }, type: 'reading' })).toBe(true);
    expect(matches(pattern, { device: { kind: 'sensor', site: { id: 's2' } }, type: 'reading' })).toBe(false);
    expect(matches(pattern, { device: { kind: 'sensor' }, type: 'reading' })).toBe(false);
    expect(matches(pattern, { device: 'sensor', type: 'reading' })).toBe(false);
  });

  it('matches prefix and suffix on strings only, also ignoring case', () => {
    expect(matches({ id: [{ prefix: 'AB' }] }, { id: 'AB1234' })).toBe(true);
    expect(matches({ id: [{ prefix: 'AB' }] }, { id: 'ab1234' })).toBe(false);
    expect(matches({ id: [{ prefix: { 'equals-ignore-case': 'ab' } }] }, { id: 'AB1234' })).toBe(true);
    expect(matches({ file: [{ suffix: '.png' }] }, { file: 'a.png' })).toBe(true);
    expect(matches({ file: [{ suffix: { 'equals-ignore-case': '.PNG' } }] }, { file: 'a.png' })).toBe(true);
    expect(matches({ n: [{ prefix: '1' }] }, { n: 12 })).toBe(false);
  });

  it('matches equals-ignore-case', () => {
    expect(matches({ s: [{ 'equals-ignore-case': 'ALERT' }] }, { s: 'alert' })).toBe(true);
    expect(matches({ s: [{ 'equals-ignore-case': 'ALERT' }] }, { s: 'alerts' })).toBe(false);
  });

  it('matches numeric comparisons and ranges on numbers only', () => {
    const range = { t: [{ numeric: ['>', 0, '<=', 5] }] };
    expect(matches(range, { t: 0 })).toBe(false);
    expect(matches(range, { t: 0.1 })).toBe(true);
    expect(matches(range, { t: 5 })).toBe(true);
    expect(matches(range, { t: 5.01 })).toBe(false);
    expect(matches(range, { t: '3' })).toBe(false);
    expect(matches({ t: [{ numeric: ['=', 3] }] }, { t: 3 })).toBe(true);
    expect(matches({ t: [{ numeric: ['>=', 10] }] }, { t: 10 })).toBe(true);
    expect(matches({ t: [{ numeric: ['<', -1] }] }, { t: -1 })).toBe(false);
  });

  it('matches anything-but values, prefix, suffix and equals-ignore-case, but never a missing field', () => {
    expect(matches({ s: [{ 'anything-but': ['error', 'fatal'] }] }, { s: 'ok' })).toBe(true);
    expect(matches({ s: [{ 'anything-but': ['error', 'fatal'] }] }, { s: 'error' })).toBe(false);
    expect(matches({ s: [{ 'anything-but': 'error' }] }, { s: 'error' })).toBe(false);
    expect(matches({ s: [{ 'anything-but': 'error' }] }, {})).toBe(false);
    expect(matches({ n: [{ 'anything-but': [0] }] }, { n: 0 })).toBe(false);
    expect(matches({ n: [{ 'anything-but': [0] }] }, { n: 1 })).toBe(true);
    expect(matches({ s: [{ 'anything-but': { prefix: 'init' } }] }, { s: 'initial' })).toBe(false);
    expect(matches({ s: [{ 'anything-but': { prefix: 'init' } }] }, { s: 'final' })).toBe(true);
    expect(matches({ s: [{ 'anything-but': { suffix: '.tmp' } }] }, { s: 'a.tmp' })).toBe(false);
    expect(matches({ s: [{ 'anything-but': { 'equals-ignore-case': ['ERROR'] } }] }, { s: 'error' })).toBe(false);
    expect(matches({ s: [{ 'anything-but': { 'equals-ignore-case': 'ERROR' } }] }, { s: 'warn' })).toBe(true);
  });

  it('matches exists true on present leaf values (null included) and exists false on absent ones', () => {
    expect(matches({ a: [{ exists: true }] }, { a: 1 })).toBe(true);
    expect(matches({ a: [{ exists: true }] }, { a: null })).toBe(true);
    expect(matches({ a: [{ exists: true }] }, {})).toBe(false);
    expect(matches({ a: [{ exists: false }] }, {})).toBe(true);
    expect(matches({ a: [{ exists: false }] }, { a: 'x' })).toBe(false);
    expect(matches({ a: { b: [{ exists: false }] } }, {})).toBe(true);
    expect(matches({ a: { b: [{ exists: false }] } }, { a: [] })).toBe(true);
  });

  it('matches a field holding an array when any element matches', () => {
    expect(matches({ tags: ['hot'] }, { tags: ['cold', 'hot'] })).toBe(true);
    expect(matches({ tags: ['hot'] }, { tags: ['cold'] })).toBe(false);
    expect(matches({ tags: [{ 'anything-but': 'cold' }] }, { tags: ['cold', 'warm'] })).toBe(true);
    expect(matches({ tags: [{ exists: true }] }, { tags: [] })).toBe(false);
  });

  it('matches a nested pattern against one element of an array of objects at a time', () => {
    const pattern = { readings: { kind: ['temp'], value: [{ numeric: ['>', 30] }] } };
    expect(matches(pattern, { readings: [{ kind: 'hum', value: 80 }, { kind: 'temp', value: 31 }] })).toBe(true);
    // kind from one element and value from another do not combine
    expect(matches(pattern, { readings: [{ kind: 'temp', value: 10 }, { kind: 'hum', value: 80 }] })).toBe(false);
  });

  it('ORs the alternatives of $or', () => {
    const pattern = { $or: [{ level: ['error'] }, { temp: [{ numeric: ['>', 40] }] }] };
    expect(matches(pattern, { level: 'error' })).toBe(true);
    expect(matches(pattern, { temp: 41 })).toBe(true);
    expect(matches(pattern, { level: 'info', temp: 20 })).toBe(false);
  });

  it('matches everything with an empty pattern', () => {
    expect(matches({}, { anything: 1 })).toBe(true);
  });

  it.each([
    [[], 'a pattern is a JSON object'],
    [{ a: 'x' }, 'a: must be a list of values or a nested pattern object'],
    [{ a: [] }, 'a: an empty list matches nothing'],
    [{ a: [[1]] }, 'values must be strings, numbers, booleans, null or an operator object'],
    [{ a: [{ wildcard: 'x*' }] }, 'unsupported operator "wildcard"'],
    [{ a: [{ prefix: 'x', suffix: 'y' }] }, 'exactly one key'],
    [{ a: [{ prefix: 1 }] }, 'a prefix: expects a string'],
    [{ a: [{ numeric: ['>', 'x'] }] }, '> needs a number'],
    [{ a: [{ numeric: ['>', 5, '<', 1] }] }, 'empty range'],
    [{ a: [{ numeric: ['<', 5, '>', 1] }] }, 'a range is'],
    [{ a: [{ numeric: ['~', 5] }] }, 'unknown comparison'],
    [{ a: [{ exists: 'yes' }] }, 'expects true or false'],
    [{ a: [{ 'anything-but': [] }] }, 'anything-but expects a string, a number or a list'],
    [{ a: [{ 'anything-but': { numeric: ['>', 1] } }] }, 'anything-but does not support "numeric"'],
    [{ b: { c: [{ 'equals-ignore-case': 3 }] } }, 'b.c equals-ignore-case: expects a string'],
    [{ $or: [] }, '$or: expects a list of patterns'],
  ])('refuses the invalid pattern %j with a ConfigError naming the pattern and the field', (pattern, message) => {
    let thrown: unknown;
    try {
      compileEventPattern(pattern, 'FilterCriteria.Filters[2].Pattern');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).path).toBe('FilterCriteria.Filters[2].Pattern');
    expect((thrown as ConfigError).message).toContain(message);
  });
});

describe('event pattern laws', () => {
  const key = fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/);
  const scalar = fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
  const data = fc.dictionary(key, fc.oneof(scalar, fc.dictionary(key, scalar, { maxKeys: 4 }), fc.array(scalar, { maxLength: 4 })), { minKeys: 1, maxKeys: 6 });

  /** Every path to a scalar leaf (through objects, not arrays) with its value. */
  function leaves(value: JsonValue, path: string[] = []): Array<{ path: string[]; value: JsonValue }> {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return Object.entries(value).flatMap(([name, child]) => leaves(child, [...path, name]));
    return Array.isArray(value) ? [] : [{ path, value }];
  }
  const patternAt = (path: string[], leaf: unknown): unknown => path.reduceRight<unknown>((inner, name) => ({ [name]: inner }), leaf);

  it('a pattern built from a record’s own values matches it', () => {
    fc.assert(
      fc.property(data, (event) => {
        const json = JSON.parse(JSON.stringify(event)) as JsonValue;
        for (const { path, value } of leaves(json)) expect(matches(patternAt(path, [value]), json)).toBe(true);
        const all = leaves(json).reduce<Record<string, unknown>>((pattern, { path, value }) => mergeInto(pattern, patternAt(path, [value]) as Record<string, unknown>), {});
        expect(matches(all, json)).toBe(true);
      }),
    );
  });

  it('anything-but a record’s own string or number value does not match it', () => {
    fc.assert(
      fc.property(data, (event) => {
        const json = JSON.parse(JSON.stringify(event)) as JsonValue;
        for (const { path, value } of leaves(json)) {
          if (typeof value !== 'string' && typeof value !== 'number') continue;
          expect(matches(patternAt(path, [{ 'anything-but': [value] }]), json)).toBe(false);
        }
      }),
    );
  });

  function mergeInto(target: Record<string, unknown>, addition: Record<string, unknown>): Record<string, unknown> {
    for (const [name, value] of Object.entries(addition)) {
      const current = target[name];
      target[name] = current && !Array.isArray(current) && typeof current === 'object' && !Array.isArray(value) ? mergeInto(current as Record<string, unknown>, value as Record<string, unknown>) : value;
    }
    return target;
  }
});
