/** The final summary of `sluice up` as text (the same figures as --json). */
import type { UpSummary } from './upRun';

const n = (value: number): string => value.toLocaleString('en-US');

export function formatUpSummary(summary: UpSummary): string {
  const r = summary.readings;
  const deadLettered = Object.entries(r.deadLetteredAtIngest);
  const lines = [
    '',
    `sluice up: summary (${summary.durationSeconds.toFixed(1)} s of devices, ${summary.drainSeconds.toFixed(1)} s to drain)`,
    `  devices                 ${n(summary.devices)}`,
    `  readings sent           ${n(r.sent)} (acked ${n(r.acked)}: ${n(r.ackedValid)} valid, ${n(r.ackedInvalid)} invalid on purpose)`,
    `  ingested                ${n(r.ingested)} into the telemetry stream`,
    `  dead-lettered at ingest ${deadLettered.length > 0 ? deadLettered.map(([reason, count]) => `${reason} ${n(count)}`).join(', ') : 'none'}`,
    `  aggregated              ${n(summary.figures.aggregate.readings)} readings counted once (${n(summary.figures.aggregate.duplicates)} duplicates ignored, ${n(summary.figures.aggregate.late)} late), ${n(summary.figures.aggregate.closed)} windows closed`,
    `  stored                  ${n(r.stored)} distinct readings (${summary.loss.where === 'postgres' ? 'PostgreSQL' : 'lake files'})`,
    `  duplicates absorbed     ${n(r.duplicatesAbsorbed)}`,
    `  alerts                  ${summary.figures.alertsRaised === undefined ? '-' : `${n(summary.figures.alertsRaised)} raised, ${n(summary.figures.openAlerts ?? 0)} open`}`,
    `  e2e latency             p50 ${summary.latencyMs.p50} ms, p95 ${summary.latencyMs.p95} ms, p99 ${summary.latencyMs.p99} ms (device event time → visible in Redis; ${n(summary.latencyMs.count)} samples)`,
    summary.loss.missing === 0
      ? `  loss                    0 (all ${n(summary.loss.expected)} acked valid readings are in storage)`
      : `  loss                    ${n(summary.loss.missing)} of ${n(summary.loss.expected)} acked valid readings NOT in storage, e.g. ${summary.loss.missingExamples.join(', ')}`,
  ];
  for (const note of summary.notes) lines.push(`  note: ${note}`);
  return lines.join('\n');
}
