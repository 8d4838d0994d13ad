/**
 * The report of a chaos or soak run: faults with their recovery times, what the devices sent and
 * what the pipeline kept, each check, and for a soak whether memory and lag stayed flat.
 */
import type { ChaosReport, ChaosSample } from './chaosRun';

export interface Trend {
  name: string;
  early: number;
  late: number;
  /** late / early */
  ratio: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : (sorted[Math.floor((sorted.length - 1) / 2)] as number);
}

/**
 * Memory per worker and total lag, early vs late in the run: medians of the samples in the second
 * fifth (after warm-up) and in the last fifth.
 */
export function trends(samples: readonly ChaosSample[]): { memory: Trend[]; lag: Trend } {
  const n = samples.length;
  const early = samples.slice(Math.floor(n / 5), Math.max(Math.floor((2 * n) / 5), Math.floor(n / 5) + 1));
  const late = samples.slice(Math.floor((4 * n) / 5));
  const workers = new Set(samples.flatMap((s) => Object.keys(s.rssMb)));
  const memory = [...workers].map((name) => {
    const e = median(early.map((s) => s.rssMb[name] ?? 0));
    const l = median(late.map((s) => s.rssMb[name] ?? 0));
    return { name, early: e, late: l, ratio: e > 0 ? l / e : 0 };
  });
  const totalLag = (s: ChaosSample): number => Object.values(s.lag).reduce((a, b) => a + b, 0);
  const e = median(early.map(totalLag));
  const l = median(late.map(totalLag));
  return { memory, lag: { name: 'lag', early: e, late: l, ratio: e > 0 ? l / e : l > 0 ? Infinity : 1 } };
}

export function chaosReportText(report: ChaosReport, title = 'sluice chaos'): string {
  const lines: string[] = [];
  lines.push(`${title}: ${report.ok ? 'PASSED' : 'FAILED'} (seed ${report.seed})`);
  lines.push(`  load       ${report.devices} devices at ${report.rate} readings/s for ${report.loadSeconds.toFixed(0)} s`);
  for (const server of report.servers) lines.push(`  ${server}`);
  if (report.baselineMs !== undefined) lines.push(`  baseline   a reading sent at the start was stored after ${(report.baselineMs / 1000).toFixed(1)} s`);
  if (report.faults.length > 0) {
    lines.push('  faults:');
    for (const fault of report.faults) {
      const recovered = fault.recoveryMs === undefined ? 'NOT recovered' : `recovered in ${(fault.recoveryMs / 1000).toFixed(1)} s`;
      lines.push(`    t+${(fault.injectedAtMs / 1000).toFixed(1).padStart(6)}s  ${fault.kind.padEnd(24)} ${recovered.padEnd(20)} ${fault.error ? `error: ${fault.error}` : fault.detail}`);
    }
  }
  const r = report.readings;
  lines.push(`  readings   sent ${r.sent}, acked ${r.acked} (${r.ackedValid} valid, ${r.ackedMalformed} malformed); ${r.ingestedRecords} records ingested, ${r.storedDistinct} distinct stored, ${r.duplicatesAbsorbed} duplicates absorbed; ${r.deadLetters} dead letters`);
  lines.push(`  drain      ${report.drainSeconds.toFixed(1)} s`);
  if (report.samples.length >= 5) {
    const t = trends(report.samples);
    lines.push(`  memory     ${t.memory.map((m) => `${m.name} ${m.early}→${m.late} MB`).join(', ')}`);
    lines.push(`  lag        median ${t.lag.early} records early, ${t.lag.late} late`);
  }
  lines.push('  checks:');
  for (const check of report.checks) lines.push(`    ${check.ok ? 'ok  ' : 'FAIL'} ${check.name}: ${check.detail}`);
  return lines.join('\n');
}
