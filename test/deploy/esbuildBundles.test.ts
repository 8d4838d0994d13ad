/**
 * What `sam build` makes of each handler the SAM templates deploy: esbuild bundles the entry
 * point with the template's BuildProperties into one file at the artifact root, and Lambda loads
 * it from a directory that holds nothing else. Each bundle here is built the same way and loaded
 * by a fresh node process in such a bare directory, which must find the handler export: a module
 * that reads a file next to its source at load time (which a bundle does not carry) fails here
 * before it fails on Lambda.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { renderDeployment } from '../../cli/deploy/renderTargets';
import type { Json } from './deployTestSupport';
import { PROJECT_ROOT, at, parseCloudFormation } from './deployTestSupport';

const run = promisify(execFile);

interface DeployedEntry {
  entry: string;
  exportName: string;
  buildProperties: { Format: 'cjs' | 'esm'; Target: string; Sourcemap: boolean; External?: string[] };
}

function deployedEntries(): DeployedEntry[] {
  const resources = Object.values(at(parseCloudFormation(renderDeployment('kinesis')), 'Resources') as Record<string, Json>);
  const entries = resources
    .filter((resource) => resource.Type === 'AWS::Serverless::Function')
    .map((resource) => {
      const buildProperties = at(resource, 'Metadata', 'BuildProperties') as DeployedEntry['buildProperties'] & { EntryPoints: string[] };
      const handler = at(resource, 'Properties', 'Handler') as string;
      return { entry: buildProperties.EntryPoints[0] ?? '', exportName: handler.slice(handler.lastIndexOf('.') + 1), buildProperties };
    });
  return [...new Map(entries.map((entry) => [`${entry.entry}#${entry.exportName}`, entry])).values()];
}

describe('handlers bundled as sam build bundles them', () => {
  it.each(deployedEntries().map((entry) => [`${entry.entry}#${entry.exportName}`, entry] as const))('%s loads from a directory holding only its bundle', async (_name, { entry, exportName, buildProperties }) => {
    const outdir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bundle-'));
    try {
      const built = await build({
        entryPoints: [path.join(PROJECT_ROOT, entry)],
        bundle: true,
        platform: 'node',
        format: buildProperties.Format,
        target: buildProperties.Target,
        sourcemap: buildProperties.Sourcemap,
        external: buildProperties.External ?? [],
        outdir,
        logLevel: 'silent',
      }).then(() => 'built', (error: { errors?: Array<{ text: string }> }) => `build failed: ${(error.errors ?? []).map((problem) => problem.text).join('; ')}`);
      expect({ entry, built }).toEqual({ entry, built: 'built' });
      const bundle = `${path.basename(entry, '.ts')}.js`;
      expect(readdirSync(outdir).sort()).toEqual([bundle, `${bundle}.map`]);
      const check = `const loaded = require('./${bundle}'); if (typeof loaded.${exportName} !== 'function') { console.error('no function export ${exportName}'); process.exit(2); }`;
      const outcome = await run(process.execPath, ['-e', check], { cwd: outdir, env: { PATH: process.env.PATH ?? '' } }).then(
        () => 'loaded',
        (error: { stderr?: string }) => (error.stderr ?? String(error)).split('\n').find((line) => /Error|no function/.test(line)) ?? 'failed',
      );
      expect({ entry, outcome }).toEqual({ entry, outcome: 'loaded' });
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
