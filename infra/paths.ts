import path from 'node:path';

/**
 * Where the infrastructure keeps its files. Everything lives under infra/.cache (git-ignored),
 * so a fresh clone starts clean and `rm -rf infra/.cache` is a full reset.
 */
export interface InfraPaths {
  /** infra/.cache */
  cacheDir: string;
  /** pid files, generated configs and logs of the processes `infra up` started */
  runDir: string;
}

export const PROJECT_ROOT = path.resolve(__dirname, '..');
export const DEFAULT_CACHE_DIR = path.join(PROJECT_ROOT, 'infra', '.cache');

export function infraPaths(cacheDir: string = DEFAULT_CACHE_DIR): InfraPaths {
  return { cacheDir, runDir: path.join(cacheDir, 'run') };
}

/** A path relative to the project root when it is inside it (shorter messages), else absolute. */
export function displayPath(target: string): string {
  const relative = path.relative(PROJECT_ROOT, target);
  return relative.startsWith('..') || path.isAbsolute(relative) ? target : relative;
}
