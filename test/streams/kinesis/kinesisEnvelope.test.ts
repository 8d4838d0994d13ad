import { fc, test } from '@fast-check/jest';
import { isSluiceError } from '../../../core/errors';
import { ENVELOPE_MAGIC, decodeKinesisData, encodeKinesisData } from '../../../streams/kinesis/kinesisEnvelope';

const bytes = fc.uint8Array({ maxLength: 300 }).map((array) => Buffer.from(array));
/** values that start with the envelope magic: the case that must still be unambiguous */
const magicPrefixed = bytes.map((rest) => Buffer.concat([ENVELOPE_MAGIC, rest]));
const anyValue = fc.oneof(bytes, magicPrefixed);
/** header names are Unicode strings (well-formed: lone surrogates are refused, see below) */
const headerName = fc.string({ unit: 'grapheme', maxLength: 20 });
const headers = fc.dictionary(headerName, bytes, { maxKeys: 6 });
const timestamp = fc.option(fc.double(), { nil: undefined });

function sameNumber(actual: number | undefined, expected: number | undefined): boolean {
  return Object.is(actual, expected);
}

describe('kinesis header envelope', () => {
  test.prop([anyValue, headers, timestamp])('round-trips any value, headers and timestamp', (value, recordHeaders, recordTimestamp) => {
    const decoded = decodeKinesisData(encodeKinesisData(value, recordHeaders, recordTimestamp));
    expect(decoded.malformed).toBeUndefined();
    expect(decoded.value.equals(value)).toBe(true);
    expect(sameNumber(decoded.timestamp, recordTimestamp)).toBe(true);
    expect(Object.keys(decoded.headers).sort()).toEqual(Object.keys(recordHeaders).sort());
    for (const [name, headerValue] of Object.entries(recordHeaders)) expect(decoded.headers[name]?.equals(headerValue)).toBe(true);
  });

  test.prop([anyValue])('round-trips any raw value (no headers, no timestamp), including one that starts with the magic', (value) => {
    const decoded = decodeKinesisData(encodeKinesisData(value, undefined, undefined));
    expect(decoded.value.equals(value)).toBe(true);
    expect(decoded.headers).toEqual({});
    expect(decoded.timestamp).toBeUndefined();
    expect(decoded.malformed).toBeUndefined();
  });

  test.prop([bytes.filter((value) => !value.subarray(0, 4).equals(ENVELOPE_MAGIC))])('sends a record without headers or timestamp as its raw bytes, so AWS-native consumers see them unchanged', (value) => {
    expect(encodeKinesisData(value, undefined, undefined)).toBe(value);
    expect(encodeKinesisData(value, {}, undefined)).toBe(value);
  });

  it('wraps a raw value that starts with the magic, so it is never mistaken for an envelope', () => {
    const value = Buffer.concat([ENVELOPE_MAGIC, Buffer.from([1, 0, 0, 0, 3, 0, 0, 0])]);
    const blob = encodeKinesisData(value, undefined, undefined);
    expect(blob.equals(value)).toBe(false);
    expect(decodeKinesisData(blob).value.equals(value)).toBe(true);
  });

  it('keeps a header named __proto__ as an ordinary header', () => {
    const recordHeaders: Record<string, Buffer> = {};
    Object.defineProperty(recordHeaders, '__proto__', { value: Buffer.from('p'), enumerable: true });
    const decoded = decodeKinesisData(encodeKinesisData(Buffer.from('v'), recordHeaders, undefined));
    expect(Object.keys(decoded.headers)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(decoded.headers, '__proto__')?.value).toEqual(Buffer.from('p'));
    expect(Object.getPrototypeOf(decoded.headers)).toBe(Object.prototype);
  });

  it('refuses a header name that is not well-formed Unicode, since it could not come back unchanged', () => {
    let caught: unknown;
    try {
      encodeKinesisData(Buffer.from('v'), { 'bad\ud800name': Buffer.from('x') }, undefined);
    } catch (error) {
      caught = error;
    }
    expect(isSluiceError(caught, 'RECORD_INVALID')).toBe(true);
  });

  it.each([
    ['shorter than the fixed prefix', Buffer.concat([ENVELOPE_MAGIC, Buffer.from([1, 0])])],
    ['an unknown version', Buffer.concat([ENVELOPE_MAGIC, Buffer.from([9, 0, 0, 0, 3, 0, 0, 0])])],
    ['a meta length past the end', Buffer.concat([ENVELOPE_MAGIC, Buffer.from([1, 0, 0, 1, 0, 0, 0, 0])])],
    ['a header running past the meta section', Buffer.concat([ENVELOPE_MAGIC, Buffer.from([1, 0, 0, 0, 5, 0, 0, 1, 0, 9])])],
    ['a timestamp flag without room for it', Buffer.concat([ENVELOPE_MAGIC, Buffer.from([1, 0, 0, 0, 3, 1, 0, 0])])],
  ])('delivers a blob with the magic but %s as its raw bytes, flagged as malformed', (_label, blob) => {
    const decoded = decodeKinesisData(blob);
    expect(decoded.value.equals(blob)).toBe(true);
    expect(decoded.headers).toEqual({});
    expect(decoded.timestamp).toBeUndefined();
    expect(typeof decoded.malformed).toBe('string');
  });

  it('skips meta bytes a later revision appended and still finds the value', () => {
    const blob = encodeKinesisData(Buffer.from('value'), { a: Buffer.from('1') }, 42);
    const metaLength = blob.readUInt32BE(5);
    const extended = Buffer.concat([blob.subarray(0, 9 + metaLength), Buffer.from([7, 7, 7]), blob.subarray(9 + metaLength)]);
    extended.writeUInt32BE(metaLength + 3, 5);
    const decoded = decodeKinesisData(extended);
    expect(decoded.value.toString()).toBe('value');
    expect(decoded.timestamp).toBe(42);
    expect(decoded.headers.a?.toString()).toBe('1');
  });
});
