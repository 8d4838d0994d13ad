/**
 * The page, built from dashboard/web/ with esbuild when the server starts (in memory, a fraction
 * of a second): the chart library is bundled in, so the page loads nothing from the network and
 * works on an offline machine, and there is no build output to go stale beside the source.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

export interface PageBundle {
  html: string;
  js: string;
  css: string;
}

export const WEB_DIR = path.join(__dirname, '..', 'web');

export async function buildPageBundle(webDir: string = WEB_DIR): Promise<PageBundle> {
  const result = await build({
    entryPoints: { app: path.join(webDir, 'main.ts') },
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    sourcemap: false,
    outdir: '/', // nothing is written; esbuild needs it to name the two outputs
    logLevel: 'silent',
    tsconfig: path.join(webDir, 'tsconfig.json'),
  });
  const js = result.outputFiles.find((file) => file.path.endsWith('.js'));
  const css = result.outputFiles.find((file) => file.path.endsWith('.css'));
  if (!js) throw new Error('esbuild produced no JavaScript for the dashboard page');
  return {
    html: await readFile(path.join(webDir, 'index.html'), 'utf8'),
    js: js.text,
    css: css?.text ?? '',
  };
}

let cached: Promise<PageBundle> | undefined;

/** One build per process, shared by every dashboard server it starts. */
export function pageBundle(): Promise<PageBundle> {
  cached ??= buildPageBundle().catch((error: unknown) => {
    cached = undefined; // a failed build is retried by the next server, not cached forever
    throw error;
  });
  return cached;
}
