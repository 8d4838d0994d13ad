/**
 * Loads aedes 1.x, which is an ES module only ("type": "module", no CommonJS build), from our
 * CommonJS code.
 *
 * - Under tsx (bin/sluice.js) and plain Node >= 20.19, require() loads an ES module without top-level
 *   await, so `require('aedes')` works as is.
 * - Under jest, `require` is jest's own module registry, which refuses ES modules unless jest runs
 *   with --experimental-vm-modules (and swc compiles `import()` to that same require). There we
 *   hand the file to Node's own CommonJS loader (`Module._load`, the function behind every
 *   require; jest replaces `createRequire` but not this), which loads it natively.
 *
 * The types come from aedes' own declarations, imported in ESM resolution mode (type-only, so
 * nothing is emitted for it).
 */
import Module from 'node:module';
import type * as AedesModule from 'aedes' with { 'resolution-mode': 'import' };
import { SluiceError, errorMessage } from '../../core/errors';

export type AedesExports = typeof AedesModule;
export type AedesBroker = AedesModule.Aedes;
export type AedesBrokerOptions = AedesModule.AedesOptions;

interface NodeModuleLoader {
  _load(request: string, parent: NodeJS.Module | null, isMain: boolean): unknown;
}

let loaded: AedesExports | undefined;

function isEsmRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_REQUIRE_ESM' || /Must use import to load ES Module|Cannot use import statement outside a module/.test(errorMessage(error));
}

export function loadAedes(): AedesExports {
  if (loaded) return loaded;
  let exports: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- ESM-only package, see the file comment
    exports = require('aedes');
  } catch (error) {
    if (!isEsmRefusal(error)) throw new SluiceError('SERVICE_UNAVAILABLE', `cannot load aedes: ${errorMessage(error)}`, { cause: error, retriable: false });
    try {
      exports = (Module as unknown as NodeModuleLoader)._load(require.resolve('aedes'), null, false);
    } catch (nativeError) {
      throw new SluiceError(
        'SERVICE_UNAVAILABLE',
        `cannot load aedes (an ES module) from CommonJS: ${errorMessage(nativeError)}; Node >= 20.19 loads ES modules with require()`,
        { cause: nativeError, retriable: false },
      );
    }
  }
  const candidate = exports as Partial<AedesExports> | null;
  if (typeof candidate?.Aedes?.createBroker !== 'function') {
    throw new SluiceError('SERVICE_UNAVAILABLE', 'aedes loaded but has no Aedes.createBroker (expected aedes 1.x)', { retriable: false });
  }
  loaded = candidate as AedesExports;
  return loaded;
}
