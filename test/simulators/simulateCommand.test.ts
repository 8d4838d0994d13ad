import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { parseDuration, registerSimulateCommand } from '../../cli/commands/simulate';
import { ConfigError } from '../../core/errors';
import type { FleetReport } from '../../simulators/fleetReport';
import { testServers, uniqueName } from '../support/servers';
import { MqttTestSubscriber } from './mqttTestSubscriber';

const run = promisify(execFile);
const sluice = path.resolve(__dirname, '../../bin/sluice.js');

async function simulate(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [sluice, 'simulate', ...args], { timeout: 45_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('sluice simulate', () => {
  it('runs a fleet against Mosquitto and prints the report as JSON', async () => {
    const prefix = uniqueName('simcli');
    const ledgerFile = path.join(os.tmpdir(), `${prefix}-ledger.json`);
    const subscriber = await MqttTestSubscriber.connect(testServers.systemMqttUrl, prefix);
    try {
      const result = await simulate([
        '--devices', '3',
        '--rate', '300',
        '--readings-per-device', '20',
        '--mqtt-url', testServers.systemMqttUrl,
        '--topic-prefix', prefix,
        '--device-id-prefix', prefix.replace(/[^a-z0-9]/gi, ''),
        '--fault', 'duplicate=0.1',
        '--qos', '1',
        '--ledger-file', ledgerFile,
        '--json',
      ]);
      expect(result.code).toBe(0);
      const report = JSON.parse(result.stdout) as FleetReport;
      expect(report).toMatchObject({ devices: 3, readings: 60, failed: 0, qos: 1 });
      expect(report.sent).toBe(60 + report.byFault.duplicate.sent);
      expect(report.acked).toBe(report.sent);
      expect(await subscriber.waitFor(() => subscriber.on('/telemetry').length >= report.acked)).toBe(true);
      // duplicates are still valid readings: every device's 20 readings are in the ledger, none to reject
      const ledger = JSON.parse(readFileSync(ledgerFile, 'utf8')) as { accepted: Record<string, number[][]>; rejected: unknown[] };
      expect(Object.values(ledger.accepted)).toEqual([[[0, 19]], [[0, 19]], [[0, 19]]]);
      expect(ledger.rejected).toEqual([]);
    } finally {
      rmSync(ledgerFile, { force: true });
      await subscriber.close();
    }
  });

  it('exits with code 2 and an error naming the flag on a bad option', async () => {
    const result = await simulate(['--devices', 'many']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('sluice: invalid configuration: --devices: must be a number, got "many"');
  });

  it.each([
    [['--devices', '0'], '--devices: must be an integer in 1..1000000, got 0'],
    [['--rate', '0'], '--rate: must be a number in 0.001..10000000, got 0'],
    [['--fault', 'gremlins=0.1'], '--fault: unknown fault kind "gremlins"'],
    [['--fault', 'duplicate=0.6', '--fault', 'offline=0.6'], '--fault: fault rates add up to 1.2'],
    [['--qos', '2'], '--qos: must be 0 or 1'],
    [['--duration', 'soon'], '--duration: must be a duration'],
    [['--clean', '--persistent'], '--clean/--persistent: choose one'],
    [['--mqtt-url', 'http://127.0.0.1'], '--mqtt-url: must be an MQTT URL'],
    [['--device-types', 'toaster'], '--device-types: unknown value "toaster"'],
    [['--anomalies', 'gremlin'], '--anomalies: unknown value "gremlin"'],
    [['--payload', 'avro'], '--schema-registry: avro payloads need a schema registry'],
    [['--payload', 'xml'], '--payload: unknown value "xml"'],
    [['--topic-prefix', 'a/#'], '--topic-prefix: must be non-empty topic levels'],
  ])('rejects %j with a ConfigError naming the flag, before connecting', async (args, message) => {
    const program = new Command('sluice').exitOverride();
    registerSimulateCommand(program);
    const parsing = program.parseAsync(['node', 'sluice', 'simulate', '--mqtt-url', 'mqtt://127.0.0.1:1', ...args]);
    await expect(parsing).rejects.toThrow(ConfigError);
    await expect(parsing).rejects.toThrow(message);
  });

  it('reads durations with units, a bare number being seconds', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1.5')).toBe(1500);
    expect(() => parseDuration('-1s')).toThrow(ConfigError);
  });
});
