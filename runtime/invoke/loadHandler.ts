/**
 * Loads a handler the way the CLI names it, `./path/to/file.ts#exportName` (export defaults to
 * `handler`), through require: bin/sluice.js registers tsx, and under jest @swc/jest
 * transforms TypeScript. Every way this can go wrong is a SluiceError naming the handler.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Handler } from 'aws-lambda';
import { ConfigError, SluiceError, errorMessage } from '../../core/errors';
import { parseHandlerSpec } from '../mapping/handlerSpec';

const HANDLER_PATH = 'mapping.Function.Handler';

export interface LoadedHandler {
  handler: Handler;
  /** absolute path of the module file */
  file: string;
  exportName: string;
}

function resolveModule(file: string, baseDir: string, spec: string): string {
  const absolute = isAbsolute(file) ? file : resolve(baseDir, file);
  try {
    return require.resolve(absolute);
  } catch {
    const hint = existsSync(absolute) ? '' : ' (no such file)';
    throw new ConfigError(HANDLER_PATH, `cannot find ${JSON.stringify(file)} for handler ${JSON.stringify(spec)}: looked at ${absolute}${hint}`);
  }
}

/**
 * Loads and returns the handler function. Modules are cached by require, so loading one file
 * twice gives the same module (its state persists, like a warm Lambda instance).
 */
export function loadHandler(spec: string, baseDir: string): LoadedHandler {
  const { file, exportName } = parseHandlerSpec(spec);
  if (!file || !exportName) throw new ConfigError(HANDLER_PATH, `must look like ./path/to/file.ts#exportName, got ${JSON.stringify(spec)}`);
  const path = resolveModule(file, baseDir, spec);
  let loaded: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- handlers are loaded by path at run time; tsx/swc hook require
    loaded = require(path);
  } catch (error) {
    throw new SluiceError('CONFIG_INVALID', `${HANDLER_PATH}: loading ${path} failed: ${errorMessage(error)}`, { cause: error });
  }
  const exports = (loaded ?? {}) as Record<string, unknown>;
  const candidate = exports[exportName];
  if (candidate === undefined) {
    const functions = Object.keys(exports).filter((name) => typeof exports[name] === 'function');
    const found = functions.length > 0 ? `it exports ${functions.join(', ')}` : 'it exports no functions';
    throw new ConfigError(HANDLER_PATH, `${path} has no export "${exportName}" (${found})`);
  }
  if (typeof candidate !== 'function') throw new ConfigError(HANDLER_PATH, `export "${exportName}" of ${path} is not a function but ${candidate === null ? 'null' : typeof candidate}`);
  return { handler: candidate as Handler, file: path, exportName };
}
