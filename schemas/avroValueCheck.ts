/**
 * What the encoder checks beyond avsc: where a value is invalid (avsc's toBuffer only says "invalid
 * <type>"), and map keys that would not survive decoding into a JavaScript object.
 */
import { Type } from 'avsc';
import type { types } from 'avsc';
import { AVRO_LONG_MIN } from './avroSchema';

export interface InvalidField {
  /** Dotted path: `location.lat`, `metrics.temperature`; `(root)` for the value itself. */
  path: string;
  problem: string;
}

function joinPath(parts: readonly string[]): string {
  return parts.length === 0 ? '(root)' : parts.join('.');
}

export function describeType(type: Type): string {
  if (Type.isType(type, 'logical')) return describeType((type as types.LogicalType).underlyingType);
  if (Type.isType(type, 'union')) return (type as types.UnwrappedUnionType).types.map(describeType).join(' | ');
  if (type.typeName === 'enum') return `one of ${(type as types.EnumType).symbols.join(', ')}`;
  if (type.typeName === 'record' || type.typeName === 'error' || type.typeName === 'fixed') return `${type.typeName} ${type.name ?? ''}`.trim();
  if (type.typeName === 'map') return `map of ${describeType((type as types.MapType).valuesType)}`;
  if (type.typeName === 'array') return `array of ${describeType((type as types.ArrayType).itemsType)}`;
  if (type.typeName === 'long') return 'long (an integer within ±(2^53 - 2))';
  if (type.typeName === 'int') return 'int (32-bit integer)';
  return type.typeName;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined (missing)';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  if (typeof value === 'object') return notPlainObject(value) ?? 'an object';
  return typeof value;
}

/**
 * What kind of non-plain object `value` is ('a Map', 'a Buffer(3)', 'an instance of Point'), or
 * undefined for a plain object (prototype Object.prototype or null). avsc reads a map or record
 * through its own enumerable properties and accepts any object, so a Map or a Date encodes as {}
 * and a Buffer as {"0": 97, ...}: only a plain object says what it holds in those properties.
 */
export function notPlainObject(value: object): string | undefined {
  const prototype = Object.getPrototypeOf(value) as object | null;
  if (prototype === Object.prototype || prototype === null) return undefined;
  if (Buffer.isBuffer(value)) return `a Buffer(${value.length})`;
  if (Array.isArray(value)) return 'an array';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of ${value.byteLength} bytes`;
  const constructorName = (prototype as { constructor?: { name?: unknown } }).constructor?.name;
  if (typeof constructorName !== 'string' || constructorName === '') return 'an object with a prototype other than Object.prototype';
  return ['Map', 'Set', 'WeakMap', 'WeakSet', 'Date', 'RegExp', 'Promise', 'Error', 'ArrayBuffer'].includes(constructorName) ? `a ${constructorName}` : `an instance of ${constructorName}`;
}

/**
 * A record avsc decoded is an instance of the record type's generated constructor (avsc sets
 * `Record.type`); its fields are own properties, so encoding it again loses nothing.
 */
function isAvscRecord(value: object): boolean {
  const prototype = Object.getPrototypeOf(value) as { constructor?: { type?: unknown; prototype?: unknown } } | null;
  const constructor = prototype?.constructor;
  return constructor?.prototype === prototype && Type.isType(constructor?.type, 'record', 'error');
}

/**
 * The invalid fields of a value, deepest first where avsc allows it. avsc's errorHook stops at an
 * unwrapped union (`location` rather than `location.lat`), so for an object given to a union we
 * ask the union's record/map branches where it fails.
 */
export function findInvalidFields(type: Type, value: unknown): InvalidField[] {
  const found: InvalidField[] = [];
  collect(type, value, [], found);
  return found;
}

function collect(type: Type, value: unknown, prefix: readonly string[], found: InvalidField[]): void {
  type.isValid(value, {
    errorHook: (path: string[], invalid: unknown, invalidType: Type) => {
      const fullPath = [...prefix, ...path];
      // avsc gives a union's record or map branch no Buffer or array (they go to bytes and array branches).
      if (Type.isType(invalidType, 'union') && invalid !== null && typeof invalid === 'object' && !Buffer.isBuffer(invalid) && !Array.isArray(invalid)) {
        const branch = (invalidType as types.UnwrappedUnionType).types.find((candidate) => ['record', 'error', 'map'].includes(candidate.typeName));
        if (branch) {
          const before = found.length;
          collect(branch, invalid, fullPath, found);
          if (found.length > before) return;
        }
      }
      found.push({ path: joinPath(fullPath), problem: `expected ${describeType(invalidType)}, got ${describeValue(invalid)}` });
    },
  });
}

/**
 * What avsc accepts but would not give back unchanged, checked before encoding:
 * - a map or record given as an object that is not plain (a Map, Date, Buffer, class instance): avsc
 *   reads its own enumerable properties, so a Map's entries are lost and a Buffer becomes {"0": 97};
 *   a record avsc decoded itself is the exception (see isAvscRecord);
 * - map keys "__proto__": decoding assigns them to a plain object, which drops them;
 * - strings (and map keys) with lone surrogates: avsc writes short ones as invalid UTF-8 (ED A0 80)
 *   and long ones as U+FFFD, and our decoder refuses invalid UTF-8;
 * - longs below -2^52: avsc writes them with the wrong sign (see AVRO_LONG_MIN).
 * Returns the first problem, or undefined.
 */
export type EncodeHazardCheck = (value: unknown) => InvalidField | undefined;

/** undefined when the type holds nothing to check (no string, long, map or record): nothing to pay for. */
export function compileEncodeHazardCheck(type: Type): EncodeHazardCheck | undefined {
  const check = compileHazardCheck(type, '', new Map());
  return check === null ? undefined : check;
}

const FORBIDDEN_KEY = '__proto__';

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

function isWellFormed(text: string): boolean {
  // String.prototype.isWellFormed is ES2024 (Node 20 has it; our TS lib is ES2022).
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

const LONE_SURROGATE = 'holds a lone UTF-16 surrogate, which UTF-8 cannot carry';

const OBJECT_TYPE_NAMES = new Set(['map', 'record', 'error']);

function unwrapLogical(type: Type): Type {
  return Type.isType(type, 'logical') ? (type as types.LogicalType).underlyingType : type;
}

/** null means "nothing below this type to check". */
function compileHazardCheck(type: Type, path: string, compiled: Map<Type, EncodeHazardCheck | null>): EncodeHazardCheck | null {
  const t = unwrapLogical(type);
  const at = path === '' ? '(root)' : path;
  const name = (sub: string) => (path === '' ? sub : `${path}.${sub}`);
  switch (t.typeName) {
    case 'string':
      return (value) => (typeof value === 'string' && !isWellFormed(value) ? { path: at, problem: `string ${LONE_SURROGATE}` } : undefined);
    case 'long':
      return (value) =>
        typeof value === 'number' && value < AVRO_LONG_MIN ? { path: at, problem: `long ${value} is below -2^52, which avsc would write with the wrong sign` } : undefined;
    default:
      break;
  }
  if (compiled.has(t)) {
    // A recursive reference: defer to whatever the outer compilation ends with.
    return (value) => compiled.get(t)?.(value) ?? undefined;
  }
  if (t.typeName === 'map') {
    compiled.set(t, null);
    const values = compileHazardCheck((t as types.MapType).valuesType, name('*'), compiled);
    const check: EncodeHazardCheck = (value) => {
      if (!isObject(value)) return undefined;
      const kind = notPlainObject(value);
      if (kind !== undefined) return { path: at, problem: `expected ${describeType(t)} as a plain object, got ${kind}` };
      for (const key of Object.keys(value)) {
        if (key === FORBIDDEN_KEY) return { path: name(key), problem: 'map key "__proto__" would be lost when decoded into a JavaScript object' };
        if (!isWellFormed(key)) return { path: name(key), problem: `map key ${LONE_SURROGATE}` };
        const problem = values?.(value[key]);
        if (problem) return problem;
      }
      return undefined;
    };
    compiled.set(t, check);
    return check;
  }
  if (t.typeName === 'array') {
    compiled.set(t, null);
    const items = compileHazardCheck((t as types.ArrayType).itemsType, name('[]'), compiled);
    const check: EncodeHazardCheck | null =
      items &&
      ((value) => {
        if (!Array.isArray(value)) return undefined;
        for (const item of value) {
          const problem = items(item);
          if (problem) return problem;
        }
        return undefined;
      });
    compiled.set(t, check);
    return check;
  }
  if (t.typeName === 'record' || t.typeName === 'error') {
    compiled.set(t, null);
    const fields = (t as types.RecordType).fields
      .map((field) => ({ name: field.name, check: compileHazardCheck(field.type, name(field.name), compiled) }))
      .filter((field): field is { name: string; check: EncodeHazardCheck } => field.check !== null);
    const check: EncodeHazardCheck = (value) => {
      if (!isObject(value)) return undefined;
      const kind = notPlainObject(value);
      if (kind !== undefined && !isAvscRecord(value)) return { path: at, problem: `expected ${describeType(t)} as a plain object, got ${kind}` };
      for (const field of fields) {
        const problem = field.check(value[field.name]);
        if (problem) return problem;
      }
      return undefined;
    };
    compiled.set(t, check);
    return check;
  }
  if (Type.isType(t, 'union')) {
    const branches = (t as types.UnwrappedUnionType).types
      .map((branch) => ({ check: compileHazardCheck(branch, path, compiled), takesObjects: OBJECT_TYPE_NAMES.has(unwrapLogical(branch).typeName) }))
      .filter((branch): branch is { check: EncodeHazardCheck; takesObjects: boolean } => branch.check !== null);
    if (branches.length === 0) return null;
    const wrapped = Type.isType(t, 'union:wrapped');
    return (value) => {
      if (value === null || value === undefined) return undefined;
      // Each branch check only looks at values of its own JS kind; a wrapped value is {branch: value}.
      const inner = wrapped && isObject(value) ? Object.values(value)[0] : value;
      // avsc sends a Buffer to a bytes branch and an array to an array branch, never to a map or record one.
      const objectBranchesApply = !Buffer.isBuffer(inner) && !Array.isArray(inner);
      for (const branch of branches) {
        if (branch.takesObjects && !objectBranchesApply) continue;
        const problem = branch.check(inner);
        if (problem) return problem;
      }
      return undefined;
    };
  }
  return null;
}
