import type { FleetProgress } from './fleet';
import type { FleetReport } from './fleetReport';

function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

function table(rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n');
}

/** The one-line status the CLI rewrites in place while a fleet runs. */
export function formatProgressLine(progress: FleetProgress): string {
  return (
    `${(progress.elapsedMs / 1000).toFixed(1)}s  readings ${formatCount(progress.readings)}  sent ${formatCount(progress.sent)}` +
    `  acked ${formatCount(progress.acked)}  failed ${formatCount(progress.failed)}` +
    `  ${formatCount(progress.currentRate)}/${formatCount(progress.targetRate)} msg/s  connected ${progress.connected}/${progress.connections}`
  );
}

/** The final report as a human-readable table (`--json` prints the object instead). */
export function formatFleetReport(report: FleetReport): string {
  const rows: Array<[string, string]> = [
    ['mode', `${report.mode}, ${report.devices} devices over ${report.connections} connections`],
    ['qos / session', `QoS ${report.qos}, ${report.cleanSession ? 'clean' : 'persistent'} session, ${report.payload} payload, seed ${report.seed}`],
    ['duration', `${(report.durationMs / 1000).toFixed(1)} s (+${(report.drainMs / 1000).toFixed(1)} s drain)`],
    ['readings', formatCount(report.readings)],
    ['sent', formatCount(report.sent)],
    ['acked', formatCount(report.acked)],
    ['failed', formatCount(report.failed)],
    ['unacked / unsent', `${formatCount(report.unacked)} / ${formatCount(report.unsent)}`],
    ['rate', `${formatCount(report.achievedRate)} msg/s acked (target ${formatCount(report.targetRate)}, sent ${formatCount(report.sentRate)})`],
    ['publish→ack ms', `p50 ${report.latencyMs.p50}  p95 ${report.latencyMs.p95}  p99 ${report.latencyMs.p99}  max ${report.latencyMs.max}`],
    ['skipped slots', `not connected ${report.skipped.notConnected}, backpressure ${report.skipped.backpressure}, lag ${report.skipped.lag}`],
    ['connects', `${report.connects} (disconnects ${report.disconnects})`],
  ];
  const faults = Object.entries(report.byFault).filter(([, counts]) => counts.sent > 0);
  if (faults.length > 0) {
    rows.push(['faults', faults.map(([kind, counts]) => `${kind} ${counts.sent}`).join(', ')]);
    if (report.offlineEpisodes > 0) rows.push(['offline episodes', String(report.offlineEpisodes)]);
  }
  const anomalies = Object.entries(report.anomalies.episodes).filter(([, count]) => count > 0);
  if (anomalies.length > 0) rows.push(['anomaly episodes', anomalies.map(([kind, count]) => `${kind} ${count}`).join(', ')]);
  const failures = Object.entries(report.failures);
  if (failures.length > 0) rows.push(['failures', failures.map(([reason, count]) => `${reason} ${count}`).join(', ')]);
  return `fleet report\n${table(rows)}`;
}
