import { ConfigError } from '../../../core/errors';
import type { StreamRecord } from '../../../streams/streamClient';
import { compileFilterCriteria } from '../../../runtime/filter/filterCriteria';

function record(value: Buffer | string | object, key = 'device-1'): StreamRecord {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  return { stream: 's', partition: '0', position: '1', key, value: bytes, headers: {}, timestamp: 0, arrivalTime: 0 };
}
const filters = (...patterns: unknown[]): { Filters: Array<{ Pattern: string }> } => ({ Filters: patterns.map((pattern) => ({ Pattern: typeof pattern === 'string' ? pattern : JSON.stringify(pattern) })) });

function configErrorOf(action: () => unknown): ConfigError {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('FilterCriteria on Kinesis records', () => {
  it('matches the JSON-decoded data under the key data (the ESM.md example)', () => {
    const accepts = compileFilterCriteria(filters({ data: { event_type: ['function_1'] } }), 'kinesis');
    expect(accepts(record({ event_type: 'function_1', n: 1 }))).toBe(true);
    expect(accepts(record({ event_type: 'function_2' }))).toBe(false);
  });

  it('drops a record whose data is not JSON when a pattern looks into data', () => {
    const accepts = compileFilterCriteria(filters({ data: { a: [{ exists: false }] } }), 'kinesis');
    expect(accepts(record('not json at all'))).toBe(false);
    expect(accepts(record(Buffer.from([0xff, 0xfe, 0x00])))).toBe(false);
    expect(accepts(record({ b: 1 }))).toBe(true);
  });

  it('drops every record for a plain-string data pattern, like AWS with JSON data', () => {
    const accepts = compileFilterCriteria(filters({ data: ['hello'] }), 'kinesis');
    expect(accepts(record('"hello"'))).toBe(false);
    expect(accepts(record('hello'))).toBe(false);
  });

  it('ORs its patterns: a record passes when any pattern matches', () => {
    const accepts = compileFilterCriteria(filters({ data: { level: ['error'] } }, { data: { temp: [{ numeric: ['>', 40] }] } }), 'kinesis');
    expect(accepts(record({ level: 'error', temp: 1 }))).toBe(true);
    expect(accepts(record({ level: 'info', temp: 41 }))).toBe(true);
    expect(accepts(record({ level: 'info', temp: 20 }))).toBe(false);
  });

  it('lets every record through without criteria or with an empty filter list', () => {
    expect(compileFilterCriteria(undefined, 'kinesis')(record('x'))).toBe(true);
    expect(compileFilterCriteria({ Filters: [] }, 'kinesis')(record('x'))).toBe(true);
  });

  it('refuses a pattern on a key AWS does not filter Kinesis records on', () => {
    const error = configErrorOf(() => compileFilterCriteria(filters({ data: { a: ['x'] } }, { partitionKey: ['1'] }), 'kinesis'));
    expect(error.path).toBe('FilterCriteria.Filters[1].Pattern');
    expect(error.message).toContain('only on "data", not "partitionKey"');
  });
});

describe('FilterCriteria on Kafka records', () => {
  it('matches JSON values under value', () => {
    const accepts = compileFilterCriteria(filters({ value: { device_ID: [{ prefix: 'AB' }] } }), 'kafka');
    expect(accepts(record({ device_ID: 'AB1234', session: { duration: 162 } }))).toBe(true);
    expect(accepts(record({ device_ID: 'CD1234' }))).toBe(false);
  });

  it('matches a plain-string value as a string (the AWS anything-but "error" example)', () => {
    const accepts = compileFilterCriteria(filters({ value: [{ 'anything-but': ['error'] }] }), 'kafka');
    expect(accepts(record('error'))).toBe(false);
    expect(accepts(record('all good'))).toBe(true);
  });

  it('never matches bytes that are not UTF-8 with a value pattern', () => {
    const accepts = compileFilterCriteria(filters({ value: [{ exists: true }] }), 'kafka');
    expect(accepts(record(Buffer.from([0xc3, 0x28])))).toBe(false);
    expect(accepts(record('text'))).toBe(true);
  });

  it('filters on the key too, and a record without key has no key field', () => {
    const accepts = compileFilterCriteria(filters({ key: [{ prefix: 'device-' }] }), 'kafka');
    expect(accepts(record('x', 'device-7'))).toBe(true);
    expect(accepts(record('x', 'gateway-1'))).toBe(false);
    expect(compileFilterCriteria(filters({ key: [{ exists: false }] }), 'kafka')(record('x', ''))).toBe(true);
  });

  it('refuses a pattern on a Kafka record field other than value and key', () => {
    const error = configErrorOf(() => compileFilterCriteria(filters({ topic: ['t'] }), 'kafka'));
    expect(error.message).toContain('only on "value" and "key", not "topic"');
  });
});

describe('FilterCriteria validation', () => {
  it('names FilterCriteria.Filters[i].Pattern when a pattern is not JSON', () => {
    const error = configErrorOf(() => compileFilterCriteria({ Filters: [{ Pattern: '{"data": {}}' }, { Pattern: '{data: nope' }] }, 'kinesis'));
    expect(error.path).toBe('FilterCriteria.Filters[1].Pattern');
    expect(error.message).toContain('is not valid JSON');
  });

  it('allows at most 5 patterns', () => {
    const error = configErrorOf(() => compileFilterCriteria(filters(...Array.from({ length: 6 }, () => ({ data: { a: ['x'] } }))), 'kinesis'));
    expect(error.path).toBe('FilterCriteria.Filters');
    expect(error.message).toContain('AWS allows at most 5');
  });

  it('allows a pattern of at most 4096 characters', () => {
    const long = JSON.stringify({ data: { a: ['x'.repeat(4100)] } });
    expect(configErrorOf(() => compileFilterCriteria({ Filters: [{ Pattern: long }] }, 'kinesis')).message).toContain('at most 4096');
  });

  it('uses the prefix it is given for paths', () => {
    expect(configErrorOf(() => compileFilterCriteria({ Filters: [{ Pattern: '[]' }] }, 'kinesis', 'mapping.FilterCriteria')).path).toBe('mapping.FilterCriteria.Filters[0].Pattern');
  });
});
