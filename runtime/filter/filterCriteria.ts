/**
 * Lambda FilterCriteria on stream records, as AWS applies them (Lambda developer guide,
 * "Control which events Lambda sends to your function", Kinesis and Kafka filtering pages):
 *
 * - Kinesis: patterns look only at `data`, the record's base64 data decoded as JSON
 *   (`{"data": {"event_type": ["function_1"]}}`). AWS supports filtering on no other key, so a
 *   pattern on another key is refused here at start-up instead of silently dropping everything.
 *   A record whose data is not JSON never matches a pattern that looks into `data` (AWS drops
 *   it); a plain-string `data` pattern (`{"data": [...]}`) never matches either (AWS: JSON data
 *   with a non-JSON pattern is dropped).
 * - Kafka (MSK and self-managed): patterns look at `value` (and `key`, the two message fields
 *   AWS names). A JSON message is matched as JSON; any other UTF-8 message as a plain string
 *   (`{"value": [{"anything-but": ["error"]}]}`); bytes that are not UTF-8 never match a pattern
 *   on that field. A record without a key has no `key` field.
 * - Up to 5 patterns (the default AWS quota), each at most 4096 characters, OR-ed: a record is
 *   delivered when any pattern matches; the others are checkpointed past and never delivered.
 */
import { ConfigError } from '../../core/errors';
import type { StreamKind, StreamRecord } from '../../streams/streamClient';
import type { JsonValue, PatternMatcher } from './eventPattern';
import { compileEventPattern } from './eventPattern';

export interface FilterCriteriaInput {
  Filters: Array<{ Pattern: string }>;
}

export type RecordFilter = (record: StreamRecord) => boolean;

export const MAX_FILTERS = 5;
export const MAX_PATTERN_LENGTH = 4096;

/** The record fields AWS lets a pattern look at, per source kind. */
export const FILTERABLE_FIELDS: Record<StreamKind, readonly string[]> = { kinesis: ['data'], kafka: ['value', 'key'] };

/** A field whose bytes could not be decoded the way a pattern needs: it never matches. */
const UNDECODABLE = Symbol('undecodable');
type Decoded = JsonValue | undefined | typeof UNDECODABLE;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function parseJson(text: string): JsonValue | typeof UNDECODABLE {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return UNDECODABLE;
  }
}

/** Kinesis data: JSON or nothing usable. */
function decodeKinesisData(value: Buffer): Decoded {
  const text = decodeUtf8(value);
  return text === undefined ? UNDECODABLE : parseJson(text);
}

/** Kafka key/value: JSON when it parses, else the UTF-8 string, else nothing usable. */
function decodeKafkaField(bytes: Buffer): Decoded {
  const text = decodeUtf8(bytes);
  if (text === undefined) return UNDECODABLE;
  const json = parseJson(text);
  return json === UNDECODABLE ? text : json;
}

/** Top-level keys of a pattern, including those inside `$or` alternatives. */
function topLevelKeys(pattern: Record<string, unknown>): string[] {
  const keys: string[] = [];
  for (const [key, sub] of Object.entries(pattern)) {
    if (key === '$or' && Array.isArray(sub)) {
      for (const alternative of sub) if (typeof alternative === 'object' && alternative !== null && !Array.isArray(alternative)) keys.push(...topLevelKeys(alternative as Record<string, unknown>));
    } else {
      keys.push(key);
    }
  }
  return keys;
}

interface CompiledFilter {
  matches: PatternMatcher;
  fields: string[];
  /** Kinesis pattern giving `data` a list of values instead of an object: AWS drops every record */
  plainStringOnJsonData: boolean;
}

function compileFilter(pattern: unknown, kind: StreamKind, path: string): CompiledFilter {
  if (typeof pattern !== 'string') throw new ConfigError(path, `must be a JSON string, got ${typeof pattern}`);
  if (pattern.length > MAX_PATTERN_LENGTH) throw new ConfigError(path, `is ${pattern.length} characters; AWS allows at most ${MAX_PATTERN_LENGTH}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(pattern);
  } catch (error) {
    throw new ConfigError(path, `is not valid JSON (${(error as Error).message})`);
  }
  const matches = compileEventPattern(parsed, path);
  const fields = [...new Set(topLevelKeys(parsed as Record<string, unknown>))];
  const allowed = FILTERABLE_FIELDS[kind];
  for (const field of fields) {
    if (!allowed.includes(field)) {
      throw new ConfigError(path, `AWS filters ${kind === 'kinesis' ? 'Kinesis' : 'Kafka'} records only on ${allowed.map((name) => `"${name}"`).join(' and ')}, not "${field}" (e.g. {"${allowed[0]}": {"type": ["reading"]}})`);
    }
  }
  const plainStringOnJsonData = kind === 'kinesis' && Array.isArray((parsed as Record<string, unknown>).data);
  return { matches, fields, plainStringOnJsonData };
}

/** Validates FilterCriteria; throws ConfigError naming `<pathPrefix>.Filters[i].Pattern`. */
export function validateFilterCriteria(criteria: unknown, sourceKind: StreamKind, pathPrefix = 'FilterCriteria'): CompiledFilter[] {
  if (criteria === undefined) return [];
  if (typeof criteria !== 'object' || criteria === null || Array.isArray(criteria)) throw new ConfigError(pathPrefix, 'must be an object {"Filters": [{"Pattern": "..."}]}');
  const filters = (criteria as { Filters?: unknown }).Filters;
  if (filters === undefined) return [];
  if (!Array.isArray(filters)) throw new ConfigError(`${pathPrefix}.Filters`, 'must be a list of {"Pattern": "..."}');
  if (filters.length > MAX_FILTERS) throw new ConfigError(`${pathPrefix}.Filters`, `has ${filters.length} patterns; AWS allows at most ${MAX_FILTERS}`);
  return filters.map((filter: unknown, index) => {
    const path = `${pathPrefix}.Filters[${index}].Pattern`;
    if (typeof filter !== 'object' || filter === null || !('Pattern' in filter)) throw new ConfigError(`${pathPrefix}.Filters[${index}]`, 'must be an object with a Pattern');
    return compileFilter((filter as { Pattern: unknown }).Pattern, sourceKind, path);
  });
}

/**
 * Compiles FilterCriteria once into a record predicate. No criteria (or no filters): every
 * record passes. Decoding happens at most once per record, and only for fields a pattern uses.
 */
export function compileFilterCriteria(criteria: FilterCriteriaInput | undefined, sourceKind: StreamKind, pathPrefix = 'FilterCriteria'): RecordFilter {
  const filters = validateFilterCriteria(criteria, sourceKind, pathPrefix);
  if (filters.length === 0) return () => true;
  const usesKey = filters.some((filter) => filter.fields.includes('key'));
  const usesValue = filters.some((filter) => filter.fields.includes('value'));
  return (record) => {
    const view: Record<string, Decoded> = {};
    if (sourceKind === 'kinesis') {
      view.data = decodeKinesisData(record.value);
    } else {
      if (usesValue) view.value = decodeKafkaField(record.value);
      // kafka records without a key read back as '' (streams/kafka): no key field, like AWS
      if (usesKey) view.key = record.key === '' ? undefined : decodeKafkaField(Buffer.from(record.key, 'utf8'));
    }
    return filters.some((filter) => {
      if (filter.plainStringOnJsonData) return false;
      if (filter.fields.some((field) => view[field] === UNDECODABLE)) return false;
      return filter.matches(view as Record<string, JsonValue>);
    });
  };
}
