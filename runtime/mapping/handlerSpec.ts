/** `./path/to/file.ts#exportName` (export defaults to `handler`), the AWS "file.export" idea with a real path. */
export interface HandlerSpec {
  file: string;
  exportName: string;
}

export function parseHandlerSpec(spec: string): HandlerSpec {
  const hash = spec.lastIndexOf('#');
  const file = (hash < 0 ? spec : spec.slice(0, hash)).trim();
  const exportName = (hash < 0 ? 'handler' : spec.slice(hash + 1)).trim();
  return { file, exportName };
}

/** A function name from the handler file: `./processors/aggregate.ts#handler` -> `aggregate`. */
export function functionNameFromHandler(handler: string): string {
  const { file, exportName } = parseHandlerSpec(handler);
  const base = (file.split(/[\\/]/).pop() ?? 'function').replace(/\.[cm]?[jt]sx?$/, '');
  const name = (exportName === 'handler' ? base : `${base}-${exportName}`).replace(/[^A-Za-z0-9_-]/g, '-');
  return name.slice(0, 64) || 'function';
}
