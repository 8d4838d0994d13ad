/** `sluice deploy render`: writes a target's rendering, checks a committed one, refuses bad flags by name. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { registerDeployCommand } from '../../cli/commands/deploy';
import { COMMITTED_RENDERINGS, renderDeployment } from '../../cli/deploy/renderTargets';
import { ConfigError, SluiceError } from '../../core/errors';
import { PROJECT_ROOT, at, parseCloudFormation } from './deployTestSupport';

async function sluiceDeploy(...args: string[]): Promise<void> {
  const program = new Command('sluice').exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  registerDeployCommand(program);
  for (const command of program.commands) for (const sub of command.commands) sub.exitOverride().configureOutput({ writeErr: () => undefined });
  await program.parseAsync(['node', 'sluice', 'deploy', ...args]);
}

describe('sluice deploy render', () => {
  let dir: string;
  const errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-deploy-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  afterAll(() => errors.mockRestore());

  it('writes the rendering of a target to --out', async () => {
    const out = path.join(dir, 'template.yaml');
    await sluiceDeploy('render', '--target', 'msk', '--out', out);
    expect(readFileSync(out, 'utf8')).toBe(renderDeployment('msk'));
  });

  it('applies a --config mapping file to every function', async () => {
    const config = path.join(dir, 'mapping.yaml');
    writeFileSync(config, 'BatchSize: 42\nMaximumRecordAgeInSeconds: 3600\n');
    const out = path.join(dir, 'template.yaml');
    await sluiceDeploy('render', '--target', 'kinesis', '--out', out, '--config', config);
    const resources = Object.values(at(parseCloudFormation(readFileSync(out, 'utf8')), 'Resources') as Record<string, Record<string, unknown>>);
    const streamEvents = resources.flatMap((resource) => Object.values((resource.Properties as { Events?: Record<string, { Type: string; Properties: Record<string, unknown> }> } | undefined)?.Events ?? {})).filter((event) => event.Type === 'Kinesis');
    expect(streamEvents.length).toBeGreaterThan(0);
    for (const event of streamEvents) expect(event.Properties).toMatchObject({ BatchSize: 42, MaximumRecordAgeInSeconds: 3600 });
  });

  it('--check passes on the committed files and fails on a stale one', async () => {
    await expect(sluiceDeploy('render', '--target', 'all', '--check')).resolves.toBeUndefined();
    const stale = path.join(dir, 'stale.yaml');
    writeFileSync(stale, readFileSync(path.join(PROJECT_ROOT, COMMITTED_RENDERINGS.k8s), 'utf8').replace('lagThreshold: "500"', 'lagThreshold: "5"'));
    await expect(sluiceDeploy('render', '--target', 'k8s', '--out', stale, '--check')).rejects.toThrow(SluiceError);
  });

  it('refuses an unknown target, --out with several targets, and per-function settings in --config', async () => {
    await expect(sluiceDeploy('render', '--target', 'lambda')).rejects.toThrow(new ConfigError('--target', 'must be one of kinesis, msk, compose, k8s, all; got "lambda"'));
    await expect(sluiceDeploy('render', '--target', 'all', '--out', path.join(dir, 'x.yaml'))).rejects.toThrow(ConfigError);
    const config = path.join(dir, 'mapping.yaml');
    writeFileSync(config, 'Source: kafka://127.0.0.1:9092/other\n');
    await expect(sluiceDeploy('render', '--target', 'msk', '--out', path.join(dir, 'x.yaml'), '--config', config)).rejects.toThrow(/Source: is set per pipeline function/);
  });
});
