import { join } from 'node:path';
import { ConfigError, isSluiceError } from '../../../core/errors';
import { loadHandler } from '../../../runtime/invoke/loadHandler';

const handlers = join(__dirname, 'handlers');

function errorOf(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('loading handlers', () => {
  it('loads ./path.ts#export relative to the base directory, defaulting the export to handler', async () => {
    const loaded = loadHandler('./asyncHandler.ts', handlers);
    expect(loaded.exportName).toBe('handler');
    expect(loaded.file).toBe(join(handlers, 'asyncHandler.ts'));
    const other = loadHandler('./asyncHandler.ts#other', handlers);
    expect(await (other.handler as unknown as () => Promise<string>)()).toBe('other');
  });

  it('loads an absolute path and a path without extension', () => {
    expect(loadHandler(`${join(handlers, 'asyncHandler.ts')}#handler`, '/').exportName).toBe('handler');
    expect(loadHandler('./asyncHandler#other', handlers).exportName).toBe('other');
  });

  it('loads a default export by the name default', () => {
    expect((loadHandler('./defaultExport.ts#default', handlers).handler as unknown as () => string)()).toBe('default');
  });

  it('returns the same module each time, so module state persists like a warm instance', () => {
    expect(loadHandler('./asyncHandler.ts', handlers).handler).toBe(loadHandler('./asyncHandler.ts', handlers).handler);
  });

  it('says which file is missing and where it looked', () => {
    const error = errorOf(() => loadHandler('./missing.ts#handler', handlers));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(`cannot find "./missing.ts" for handler "./missing.ts#handler": looked at ${join(handlers, 'missing.ts')} (no such file)`);
  });

  it('says which export is missing and lists the functions the module has', () => {
    const error = errorOf(() => loadHandler('./asyncHandler.ts#handle', handlers));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('has no export "handle" (it exports handler, other)');
    expect(errorOf(() => loadHandler('./noFunctions.ts', handlers)).message).toContain('it exports no functions');
  });

  it('refuses an export that is not a function', () => {
    expect(errorOf(() => loadHandler('./asyncHandler.ts#notAFunction', handlers)).message).toContain('export "notAFunction" of');
    expect(errorOf(() => loadHandler('./asyncHandler.ts#notAFunction', handlers)).message).toContain('is not a function but number');
  });

  it('reports a module that throws while loading, keeping the cause', () => {
    const error = errorOf(() => loadHandler('./throwsOnLoad.ts', handlers));
    expect(isSluiceError(error, 'CONFIG_INVALID')).toBe(true);
    expect(error.message).toContain('boom while loading');
    expect((error.cause as Error).message).toBe('boom while loading');
  });

  it('refuses a handler spec without a file or an export', () => {
    expect(errorOf(() => loadHandler('#handler', handlers))).toBeInstanceOf(ConfigError);
    expect(errorOf(() => loadHandler('./asyncHandler.ts#', handlers))).toBeInstanceOf(ConfigError);
  });
});
