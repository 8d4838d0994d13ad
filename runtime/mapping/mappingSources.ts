/**
 * Where mapping settings come from: a YAML/JSON file (`--config mapping.yaml`) and kebab-case
 * CLI flags (`--batch-size 100`), merged with flags winning, then validated once by
 * resolveMappingConfig. Both produce a MappingInput, the unvalidated mapping shape.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError, errorMessage } from '../../core/errors';
import { describeValue, isPlainObject } from './configChecks';
import { parseHandlerSpec } from './handlerSpec';
import type { MappingOptionSpec } from './mappingOptions';
import { MAPPING_OPTIONS } from './mappingOptions';
import type { MappingInput } from './mappingTypes';
import { readSettingsYaml } from './yamlFile';

/**
 * Reads a mapping file (YAML, or JSON which YAML also reads). A relative Function.Handler is
 * made absolute against the file's directory, so it means the same whatever the working
 * directory is. Errors name the file.
 */
export function loadMappingFile(path: string): MappingInput {
  const parsed = readSettingsYaml(path);
  if (!isPlainObject(parsed)) throw new ConfigError(path, `must hold an object of mapping settings, got ${describeValue(parsed)}`);
  const fn = parsed.Function;
  if (isPlainObject(fn) && typeof fn.Handler === 'string') {
    const { file, exportName } = parseHandlerSpec(fn.Handler);
    if (file && !isAbsolute(file)) return { ...parsed, Function: { ...fn, Handler: `${resolve(dirname(path), file)}#${exportName}` } };
  }
  return parsed;
}

const camelCase = (flag: string): string => flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

function setAt(target: MappingInput, path: string, value: unknown): void {
  const parts = path.split('.');
  let node: Record<string, unknown> = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    node = isPlainObject(next) ? next : (node[part] = {});
  }
  node[parts[parts.length - 1] ?? path] = value;
}

function flagError(spec: MappingOptionSpec, problem: string): ConfigError {
  return new ConfigError(`--${spec.flag}`, problem);
}

function filterCriteriaFromFlag(spec: MappingOptionSpec, text: string, baseDir: string): unknown {
  const trimmed = text.trim();
  let json = trimmed;
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) {
    try {
      json = readFileSync(resolve(baseDir, trimmed), 'utf8');
    } catch (error) {
      throw flagError(spec, `is neither inline JSON nor a readable file (${errorMessage(error)})`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw flagError(spec, `is not valid JSON (${errorMessage(error)})`);
  }
  const asFilter = (pattern: unknown): unknown => (isPlainObject(pattern) && 'Pattern' in pattern ? pattern : { Pattern: typeof pattern === 'string' ? pattern : JSON.stringify(pattern) });
  // {"Filters": [...]} as the AWS CLI takes it; a list of patterns; or one pattern object.
  if (isPlainObject(parsed) && 'Filters' in parsed) return parsed;
  if (Array.isArray(parsed)) return { Filters: parsed.map(asFilter) };
  return { Filters: [asFilter(parsed)] };
}

function coerceFlag(spec: MappingOptionSpec, raw: unknown, baseDir: string): unknown {
  switch (spec.type) {
    case 'integer':
    case 'number': {
      if (typeof raw === 'number') return raw;
      const text = typeof raw === 'string' ? raw.trim() : '';
      if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw flagError(spec, `must be a number, got ${describeValue(raw)}`);
      return Number(text);
    }
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      throw flagError(spec, `must be true or false, got ${describeValue(raw)}`);
    case 'list': {
      const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : undefined;
      if (!items) throw flagError(spec, `must be a comma-separated list, got ${describeValue(raw)}`);
      return items.map((item) => String(item).trim()).filter((item) => item !== '');
    }
    case 'filter-criteria':
      if (typeof raw !== 'string') throw flagError(spec, `must be a file name or inline JSON, got ${describeValue(raw)}`);
      return filterCriteriaFromFlag(spec, raw, baseDir);
    default:
      if (typeof raw !== 'string') throw flagError(spec, `must be text, got ${describeValue(raw)}`);
      return raw;
  }
}

/**
 * Maps CLI flags onto the mapping shape. Keys may be kebab-case (`batch-size`) or the
 * camelCase commander produces (`batchSize`); flags that are not mapping settings and
 * undefined values are ignored. `baseDir` resolves a --filter-criteria file (default: cwd).
 */
export function mappingFromCliFlags(flags: Record<string, unknown>, options: { baseDir?: string } = {}): MappingInput {
  const baseDir = options.baseDir ?? process.cwd();
  const mapping: MappingInput = {};
  for (const spec of MAPPING_OPTIONS) {
    const raw = flags[spec.flag] ?? flags[camelCase(spec.flag)];
    if (raw === undefined) continue;
    setAt(mapping, spec.path, coerceFlag(spec, raw, baseDir));
  }
  return mapping;
}

/** Deep-merges two mapping inputs; `flags` wins. Lists and scalars are replaced, objects merged. */
export function mergeMapping(file: MappingInput, flags: MappingInput): MappingInput {
  const merged: MappingInput = { ...file };
  for (const [key, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? mergeMapping(current, value) : value;
  }
  return merged;
}
