/**
 * EventBridge event patterns, the syntax of Lambda FilterCriteria, compiled once into a
 * matcher. Supported: exact values (string, number, boolean, null), prefix, suffix,
 * equals-ignore-case (also inside prefix/suffix), numeric comparisons and ranges,
 * anything-but (values, prefix, suffix, equals-ignore-case), exists true/false, nested objects,
 * `$or`. Semantics, as in EventBridge:
 *  - keys of one object are AND-ed, values listed for one key are OR-ed;
 *  - a field holding an array matches when any element matches;
 *  - an array of objects matches a nested pattern when one element matches all of it (array
 *    consistency, like Event Ruler's JSON matching);
 *  - a missing field matches only `exists: false`; `null` is a present value.
 */
import { ConfigError } from '../../core/errors';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
/** `undefined` = the field is absent */
export type PatternMatcher = (value: JsonValue | undefined) => boolean;

type Test = (leaf: JsonValue) => boolean;
type Condition = { exists: boolean } | { test: Test };

const OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'anything-but', 'numeric', 'exists'];
const NUMERIC_OPERATORS = ['=', '<', '<=', '>', '>='];

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

class PatternProblem extends Error {}
function problem(where: string, message: string): PatternProblem {
  return new PatternProblem(where ? `${where}: ${message}` : message);
}

/** The scalar values at a field: an array contributes its elements (flattened), an object none. */
function leafValues(value: JsonValue | undefined, out: JsonValue[] = []): JsonValue[] {
  if (value === undefined || isObject(value)) return out;
  if (Array.isArray(value)) for (const element of value) leafValues(element, out);
  else out.push(value);
  return out;
}

function stringTest(operand: unknown, where: string, build: (text: string, ignoreCase: boolean) => Test): Test {
  if (typeof operand === 'string') return build(operand, false);
  if (isObject(operand) && Object.keys(operand).length === 1 && typeof operand['equals-ignore-case'] === 'string') {
    return build(operand['equals-ignore-case'].toLowerCase(), true);
  }
  throw problem(where, `expects a string or {"equals-ignore-case": "..."}, got ${show(operand)}`);
}

const prefixTest = (text: string, ignoreCase: boolean): Test => (leaf) => typeof leaf === 'string' && (ignoreCase ? leaf.toLowerCase() : leaf).startsWith(text);
const suffixTest = (text: string, ignoreCase: boolean): Test => (leaf) => typeof leaf === 'string' && (ignoreCase ? leaf.toLowerCase() : leaf).endsWith(text);

function numericTest(operand: unknown, where: string): Test {
  if (!Array.isArray(operand) || (operand.length !== 2 && operand.length !== 4)) {
    throw problem(where, `expects [op, n] or [op, n, op, n] with op one of ${NUMERIC_OPERATORS.join(' ')}, got ${show(operand)}`);
  }
  const comparisons: Array<{ op: string; bound: number }> = [];
  for (let index = 0; index < operand.length; index += 2) {
    const op = operand[index];
    const bound = operand[index + 1];
    if (typeof op !== 'string' || !NUMERIC_OPERATORS.includes(op)) throw problem(where, `unknown comparison ${show(op)} (use ${NUMERIC_OPERATORS.join(' ')})`);
    if (typeof bound !== 'number' || !Number.isFinite(bound)) throw problem(where, `${op} needs a number, got ${show(bound)}`);
    comparisons.push({ op, bound });
  }
  const [low, high] = comparisons;
  if (high && low) {
    if (!['>', '>='].includes(low.op) || !['<', '<='].includes(high.op)) throw problem(where, 'a range is [">" or ">=", low, "<" or "<=", high]');
    if (low.bound >= high.bound) throw problem(where, `empty range: ${low.bound} is not below ${high.bound}`);
  }
  const holds = (value: number, { op, bound }: { op: string; bound: number }): boolean =>
    op === '=' ? value === bound : op === '<' ? value < bound : op === '<=' ? value <= bound : op === '>' ? value > bound : value >= bound;
  return (leaf) => typeof leaf === 'number' && comparisons.every((comparison) => holds(leaf, comparison));
}

function anythingButTest(operand: unknown, where: string): Test {
  if (isObject(operand)) {
    const [operator, ...rest] = Object.keys(operand);
    const inner = operator === undefined ? undefined : operand[operator];
    if (rest.length > 0 || operator === undefined) throw problem(where, `anything-but takes one of prefix, suffix, equals-ignore-case, got ${show(operand)}`);
    // A non-string value can't start/end with/equal a string, so it always passes "anything but".
    if (operator === 'prefix' || operator === 'suffix') {
      if (typeof inner !== 'string') throw problem(where, `anything-but ${operator} expects a string, got ${show(inner)}`);
      const excluded = operator === 'prefix' ? prefixTest(inner, false) : suffixTest(inner, false);
      return (leaf) => !excluded(leaf);
    }
    if (operator === 'equals-ignore-case') {
      const words = Array.isArray(inner) ? inner : [inner];
      if (words.length === 0 || !words.every((word) => typeof word === 'string')) throw problem(where, `anything-but equals-ignore-case expects a string or a list of strings, got ${show(inner)}`);
      const lowered = new Set(words.map((word) => (word as string).toLowerCase()));
      return (leaf) => typeof leaf !== 'string' || !lowered.has(leaf.toLowerCase());
    }
    throw problem(where, `anything-but does not support "${operator}" (use prefix, suffix, equals-ignore-case or values)`);
  }
  const values = Array.isArray(operand) ? operand : [operand];
  if (values.length === 0 || !values.every((value) => typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)))) {
    throw problem(where, `anything-but expects a string, a number or a list of them, got ${show(operand)}`);
  }
  return (leaf) => !values.includes(leaf as string | number);
}

function compileCondition(element: unknown, where: string): Condition {
  if (element === null || typeof element === 'boolean' || typeof element === 'string') return { test: (leaf) => leaf === element };
  if (typeof element === 'number') {
    if (!Number.isFinite(element)) throw problem(where, `${element} is not a number JSON can hold`);
    return { test: (leaf) => leaf === element };
  }
  if (!isObject(element)) throw problem(where, `values must be strings, numbers, booleans, null or an operator object, got ${show(element)}`);
  const keys = Object.keys(element);
  const operator = keys[0];
  if (keys.length !== 1 || operator === undefined) throw problem(where, `an operator object has exactly one key (${OPERATORS.join(', ')}), got ${show(element)}`);
  const operand = element[operator];
  const at = `${where} ${operator}`.trim();
  switch (operator) {
    case 'prefix':
      return { test: stringTest(operand, at, prefixTest) };
    case 'suffix':
      return { test: stringTest(operand, at, suffixTest) };
    case 'equals-ignore-case':
      if (typeof operand !== 'string') throw problem(at, `expects a string, got ${show(operand)}`);
      return { test: (leaf) => typeof leaf === 'string' && leaf.toLowerCase() === operand.toLowerCase() };
    case 'numeric':
      return { test: numericTest(operand, at) };
    case 'anything-but':
      return { test: anythingButTest(operand, at) };
    case 'exists':
      if (typeof operand !== 'boolean') throw problem(at, `expects true or false, got ${show(operand)}`);
      return { exists: operand };
    default:
      throw problem(where, `unsupported operator "${operator}" (supported: ${OPERATORS.join(', ')})`);
  }
}

function compileLeaf(elements: unknown[], where: string): PatternMatcher {
  if (elements.length === 0) throw problem(where, 'an empty list matches nothing; list at least one value');
  const conditions = elements.map((element) => compileCondition(element, where));
  return (value) => {
    const leaves = leafValues(value);
    return conditions.some((condition) => ('exists' in condition ? condition.exists === leaves.length > 0 : leaves.some(condition.test)));
  };
}

function compileObject(pattern: Record<string, unknown>, where: string): PatternMatcher {
  const fields: Array<(object: Record<string, JsonValue> | undefined) => boolean> = [];
  for (const [key, sub] of Object.entries(pattern)) {
    const at = where ? `${where}.${key}` : key;
    if (key === '$or') {
      if (!Array.isArray(sub) || sub.length === 0 || !sub.every(isObject)) throw problem(at, `expects a list of patterns, got ${show(sub)}`);
      const alternatives = sub.map((alternative, index) => compileObject(alternative, `${at}[${index}]`));
      fields.push((object) => alternatives.some((alternative) => alternative(object)));
    } else if (Array.isArray(sub)) {
      const leaf = compileLeaf(sub, at);
      fields.push((object) => leaf(object?.[key]));
    } else if (isObject(sub)) {
      const nested = compileObject(sub, at);
      fields.push((object) => nested(object?.[key]));
    } else {
      throw problem(at, `must be a list of values or a nested pattern object, got ${show(sub)}`);
    }
  }
  const matchObject = (value: JsonValue | undefined): boolean => {
    // An empty array holds nothing: fields under it are absent.
    if (Array.isArray(value) && value.length > 0) return value.some(matchObject);
    const object = isObject(value) ? (value as Record<string, JsonValue>) : undefined;
    return fields.every((field) => field(object));
  };
  return matchObject;
}

/**
 * Compiles a parsed pattern object; throws ConfigError naming `path` (e.g.
 * `FilterCriteria.Filters[0].Pattern`) with the pattern field at fault in the message.
 */
export function compileEventPattern(pattern: unknown, path: string): PatternMatcher {
  if (!isObject(pattern)) throw new ConfigError(path, `a pattern is a JSON object, got ${show(pattern)}`);
  try {
    return compileObject(pattern, '');
  } catch (error) {
    if (error instanceof PatternProblem) throw new ConfigError(path, error.message);
    throw error;
  }
}
