/**
 * A bounds-checking walk over an Avro body, run before avsc decodes it.
 *
 * Why: avsc reads block counts of maps and arrays from the bytes and loops that many times before
 * it checks whether it ran off the end of the buffer (its Tap methods "fail silently on overflow").
 * A corrupted or hostile count (2^40, or a varint of 0xff bytes that reads as Infinity) keeps the
 * process busy for minutes or forever - measured: a count of 10^7 takes 0.3 s, 10^9 over 30 s.
 * This walk checks every length, count and index against the bytes left, so decode stays linear
 * in the message size, and it names what is wrong (truncated, invalid_body, trailing_bytes).
 *
 * It also refuses what avsc would silently turn into a different value: booleans other than 0/1,
 * ints outside int32, strings that are not UTF-8 (avsc would substitute U+FFFD), map keys
 * "__proto__" (a JS object drops them), and block sizes that disagree with their blocks.
 *
 * The walk is compiled once per writer schema into closures (the codec caches it by schema id).
 */
import { isUtf8 } from 'node:buffer';
import { Type } from 'avsc';
import type { types } from 'avsc';
import { errorMessage } from '../core/errors';
import { AVRO_LONG_MAX, AVRO_LONG_MIN } from './avroSchema';

export interface BodyProblem {
  reason: 'truncated' | 'invalid_body' | 'trailing_bytes';
  detail: string;
}

/**
 * Returns undefined when `message` from byte `start` to its end is exactly one valid encoding of
 * the compiled type (taking an offset spares the codec a subarray per message).
 */
export type BodyCheck = (message: Buffer, start?: number) => BodyProblem | undefined;

/** Counts of zero-byte items (arrays of null) cannot be bounded by the bytes left; cap them. */
export const MAX_ZERO_SIZE_ITEMS = 100_000;

const MAX_LONG_BYTES = 10;
const MAX_INT_BYTES = 5;
const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

/** Thrown inside the walk only; not an Error so no stack trace is captured on the hot path. */
class BodyFault {
  constructor(
    readonly reason: 'truncated' | 'invalid_body',
    readonly detail: string,
  ) {}
}

interface Cursor {
  buf: Buffer;
  pos: number;
}

type Walker = (cursor: Cursor) => void;

export function compileBodyCheck(type: Type): BodyCheck {
  const walk = compileWalker(type, '', new Map());
  // One cursor per compiled check: the walk is synchronous, so calls never overlap.
  const empty = Buffer.alloc(0);
  const cursor: Cursor = { buf: empty, pos: 0 };
  return (message, start = 0) => {
    cursor.buf = message;
    cursor.pos = start;
    try {
      walk(cursor);
    } catch (error) {
      if (error instanceof BodyFault) return { reason: error.reason, detail: error.detail };
      // A recursive schema nested deeper than the JS stack allows. Checked by name: under jest's
      // vm contexts the engine's RangeError is not `instanceof` the realm's RangeError.
      if ((error as { name?: unknown } | null)?.name === 'RangeError') return { reason: 'invalid_body', detail: `nesting too deep (${errorMessage(error)})` };
      throw error;
    } finally {
      // Don't keep the message alive: it may be a slice of a large fetched batch.
      cursor.buf = empty;
    }
    if (cursor.pos < message.length) {
      return { reason: 'trailing_bytes', detail: `${message.length - cursor.pos} bytes left after the value (body is ${message.length - start} bytes)` };
    }
    return undefined;
  };
}

function at(path: string): string {
  return path === '' ? '(root)' : path;
}

function child(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

/**
 * A zig-zag varint, bounded to maxBytes. The sign is the lowest bit of the first byte and the
 * magnitude is summed already halved, so the result is exact for |n| < 2^53 (unlike summing the
 * unsigned value, which rounds odd values past 2^53 and flips their sign).
 */
function readVarint(cursor: Cursor, maxBytes: number, path: string): number {
  const buf = cursor.buf;
  let pos = cursor.pos;
  if (pos >= buf.length) throw new BodyFault('truncated', `${at(path)}: ends inside a varint`);
  let byte = buf[pos++] as number;
  const negative = (byte & 1) === 1;
  let half = (byte & 0x7f) >> 1;
  let multiplier = 64;
  for (let length = 1; byte & 0x80; length++) {
    if (length === maxBytes) throw new BodyFault('invalid_body', `${at(path)}: varint longer than ${maxBytes} bytes`);
    if (pos >= buf.length) throw new BodyFault('truncated', `${at(path)}: ends inside a varint`);
    byte = buf[pos++] as number;
    half += (byte & 0x7f) * multiplier;
    multiplier *= 128;
  }
  cursor.pos = pos;
  return negative ? -half - 1 : half;
}

function readLength(cursor: Cursor, path: string, what: string): number {
  const length = readVarint(cursor, MAX_LONG_BYTES, path);
  if (length < 0) throw new BodyFault('invalid_body', `${at(path)}: negative ${what} length ${length}`);
  if (length > cursor.buf.length - cursor.pos) {
    throw new BodyFault('truncated', `${at(path)}: ${what} of ${length} bytes but only ${cursor.buf.length - cursor.pos} left`);
  }
  return length;
}

function isAscii(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    if ((buf[i] as number) > 0x7f) return false;
  }
  return true;
}

/** Reads a string; returns true when it is exactly "__proto__". */
function walkString(cursor: Cursor, path: string): boolean {
  const length = readLength(cursor, path, 'string');
  const start = cursor.pos;
  const end = start + length;
  const buf = cursor.buf;
  if (!isAscii(buf, start, end) && !isUtf8(buf.subarray(start, end))) {
    throw new BodyFault('invalid_body', `${at(path)}: string is not valid UTF-8`);
  }
  cursor.pos = end;
  return length === 9 && buf.toString('latin1', start, end) === '__proto__';
}

function fixedWidth(width: number, path: string): Walker {
  return (cursor) => {
    if (cursor.pos + width > cursor.buf.length) throw new BodyFault('truncated', `${at(path)}: needs ${width} bytes, ${cursor.buf.length - cursor.pos} left`);
    cursor.pos += width;
  };
}

function unwrapLogical(type: Type): Type {
  return Type.isType(type, 'logical') ? (type as types.LogicalType).underlyingType : type;
}

/** The fewest bytes one value of the type can take (bounds block counts). */
function minEncodedSize(type: Type, visiting: Set<Type> = new Set()): number {
  const t = unwrapLogical(type);
  switch (t.typeName) {
    case 'null':
      return 0;
    case 'float':
      return 4;
    case 'double':
      return 8;
    case 'fixed':
      return (t as types.FixedType).size;
    case 'record':
    case 'error': {
      if (visiting.has(t)) return 0; // recursive: don't count the cycle
      visiting.add(t);
      const size = (t as types.RecordType).fields.reduce((sum, field) => sum + minEncodedSize(field.type, visiting), 0);
      visiting.delete(t);
      return size;
    }
    default:
      return 1; // boolean, int, long, bytes, string, enum, union index, map/array terminator
  }
}

function compileWalker(type: Type, path: string, compiled: Map<Type, Walker>): Walker {
  const t = unwrapLogical(type);
  const known = compiled.get(t);
  if (known) return known;
  switch (t.typeName) {
    case 'null':
      return () => undefined;
    case 'boolean':
      return (cursor) => {
        const byte = cursor.buf[cursor.pos];
        if (byte === undefined) throw new BodyFault('truncated', `${at(path)}: ends before a boolean`);
        if (byte > 1) throw new BodyFault('invalid_body', `${at(path)}: boolean byte must be 0 or 1, got ${byte}`);
        cursor.pos++;
      };
    case 'int':
      return (cursor) => {
        const n = readVarint(cursor, MAX_INT_BYTES, path);
        if (n < INT_MIN || n > INT_MAX) throw new BodyFault('invalid_body', `${at(path)}: ${n} is outside the int range`);
      };
    case 'long':
      return (cursor) => {
        const n = readVarint(cursor, MAX_LONG_BYTES, path);
        if (!(n >= AVRO_LONG_MIN && n <= AVRO_LONG_MAX)) throw new BodyFault('invalid_body', `${at(path)}: long ${n} is outside -2^52..2^53-2, which avsc cannot read exactly`);
      };
    case 'float':
      return fixedWidth(4, path);
    case 'double':
      return fixedWidth(8, path);
    case 'fixed':
      return fixedWidth((t as types.FixedType).size, path);
    case 'bytes':
      return (cursor) => {
        const length = readLength(cursor, path, 'bytes'); // read first: it moves cursor.pos past the varint
        cursor.pos += length;
      };
    case 'string':
      return (cursor) => {
        walkString(cursor, path);
      };
    case 'enum': {
      const symbolCount = (t as types.EnumType).symbols.length;
      return (cursor) => {
        const index = readVarint(cursor, MAX_LONG_BYTES, path);
        if (index < 0 || index >= symbolCount) throw new BodyFault('invalid_body', `${at(path)}: enum index ${index} outside 0..${symbolCount - 1}`);
      };
    }
    case 'record':
    case 'error':
      return compileRecord(t as types.RecordType, path, compiled);
    case 'map':
    case 'array':
      return compileBlocks(t, path, compiled);
    default:
      if (Type.isType(t, 'union')) return compileUnion(t as types.UnwrappedUnionType, path, compiled);
      throw new Error(`avroBodyCheck: unsupported Avro type ${t.typeName}`);
  }
}

function compileRecord(record: types.RecordType, path: string, compiled: Map<Type, Walker>): Walker {
  // Register before compiling the fields so a recursive reference finds this walker.
  let fieldWalkers: Walker[] = [];
  const walker: Walker = (cursor) => {
    for (let i = 0; i < fieldWalkers.length; i++) (fieldWalkers[i] as Walker)(cursor);
  };
  compiled.set(record, walker);
  fieldWalkers = record.fields.map((field) => compileWalker(field.type, child(path, field.name), compiled));
  return walker;
}

function compileUnion(union: types.UnwrappedUnionType, path: string, compiled: Map<Type, Walker>): Walker {
  const branches = union.types.map((branch) => compileWalker(branch, path, compiled));
  return (cursor) => {
    const index = readVarint(cursor, MAX_LONG_BYTES, path);
    const branch = branches[index];
    if (branch === undefined) throw new BodyFault('invalid_body', `${at(path)}: union index ${index} outside 0..${branches.length - 1}`);
    branch(cursor);
  };
}

/** Maps and arrays: blocks of `count` items, a negative count followed by the block's byte size. */
function compileBlocks(type: Type, path: string, compiled: Map<Type, Walker>): Walker {
  const isMap = type.typeName === 'map';
  const itemType: Type = isMap ? (type as types.MapType).valuesType : (type as types.ArrayType).itemsType;
  const itemPath = isMap ? `${path}[*]` : `${path}[]`;
  const keyPath = `${path}[key]`;
  const itemWalker = compileWalker(itemType, itemPath, compiled);
  const minItemSize = minEncodedSize(itemType) + (isMap ? 1 : 0);
  return (cursor) => {
    let zeroSizeItems = 0;
    for (;;) {
      let count = readVarint(cursor, MAX_LONG_BYTES, path);
      if (count === 0) return;
      let blockEnd = -1;
      if (count < 0) {
        count = -count;
        const blockSize = readLength(cursor, path, 'block');
        blockEnd = cursor.pos + blockSize;
      }
      if (!Number.isSafeInteger(count)) throw new BodyFault('invalid_body', `${at(path)}: block count ${count} out of range`);
      if (minItemSize > 0) {
        const left = cursor.buf.length - cursor.pos;
        if (count > left / minItemSize) throw new BodyFault('truncated', `${at(path)}: block of ${count} items cannot fit in the ${left} bytes left`);
      } else {
        zeroSizeItems += count;
        if (zeroSizeItems > MAX_ZERO_SIZE_ITEMS) throw new BodyFault('invalid_body', `${at(path)}: more than ${MAX_ZERO_SIZE_ITEMS} empty items`);
      }
      for (let i = 0; i < count; i++) {
        if (isMap && walkString(cursor, keyPath)) {
          throw new BodyFault('invalid_body', `${at(path)}: map key "__proto__" cannot be held by a JavaScript object`);
        }
        itemWalker(cursor);
      }
      if (blockEnd >= 0 && cursor.pos !== blockEnd) {
        throw new BodyFault('invalid_body', `${at(path)}: block size says it ends at byte ${blockEnd}, its items end at ${cursor.pos}`);
      }
    }
  };
}
