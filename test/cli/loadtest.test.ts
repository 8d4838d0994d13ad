/**
 * `sluice loadtest` as a user runs it (a child process, embedded stream and broker, the machine's
 * Redis and PostgreSQL): two phases of consumers, a sample per second, nothing lost, and the JSON
 * and self-contained HTML report on disk.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SLUICE = path.join(__dirname, '../../bin/sluice.js');

describe('sluice loadtest', () => {
  it('drives the pipeline in phases of consumers and writes a JSON and an HTML report; no acked reading is lost', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'sluice-loadtest-test-'));
    try {
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, [SLUICE, 'loadtest', '--devices', '10', '--rate', '80', '--duration', '8s', '--ramp', '1s', '--consumers', '1,2', '--handler-latency', '5ms', '--out', out], { timeout: 150_000, env: { ...process.env, SLUICE_LOG_LEVEL: 'error' } }, (error, text, stderr) => {
          if (error) reject(new Error(`${error.message}\n${stderr}`));
          else resolve(text);
        });
      });
      const printed = JSON.parse(stdout) as { phases: Array<{ consumers: number; ingestedPerSecond: number }>; loss: { missing: number; expected: number }; report: { json: string; html: string } };
      expect(printed.loss.missing).toBe(0);
      expect(printed.loss.expected).toBeGreaterThan(300);
      expect(printed.phases.map((phase) => phase.consumers)).toEqual([1, 2]);
      const report = JSON.parse(readFileSync(printed.report.json, 'utf8')) as { samples: Array<{ t: number; consumers: number; stagePerSecond: Record<string, number> }> };
      expect(report.samples.length).toBeGreaterThanOrEqual(6);
      expect(new Set(report.samples.map((sample) => sample.consumers))).toEqual(new Set([1, 2]));
      expect(report.samples.some((sample) => Object.entries(sample.stagePerSecond).some(([name, rate]) => name.endsWith('sluice-aggregate') && rate > 0))).toBe(true);
      const html = readFileSync(printed.report.html, 'utf8');
      expect(html).toContain('uPlot');
      expect(html).not.toMatch(/<script src=/); // everything inlined: opens offline
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
