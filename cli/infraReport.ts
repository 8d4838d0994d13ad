import type { InfraUpReport } from '../infra/localInfra';
import type { ServiceDownResult, ServiceStatus, ServiceUpResult } from '../infra/serviceReport';

/** Plain-text tables for `sluice infra up|down|status` (the --json forms print the data as is). */

const NAME_WIDTH = 18;
const STATE_WIDTH = 17;
const ADDRESS_WIDTH = 42;

function row(name: string, state: string, address: string, detail: string): string {
  return `${name.padEnd(NAME_WIDTH)}${state.padEnd(STATE_WIDTH)}${address.padEnd(ADDRESS_WIDTH)}${detail}`.trimEnd();
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function ownerText(status: ServiceStatus): string {
  if (status.owner === 'sluice') return `sluice pid ${status.pid ?? '?'}`;
  if (status.owner === 'machine') return status.pid === undefined ? 'machine' : `machine pid ${status.pid}`;
  if (status.owner === 'other') return 'not ours';
  return '';
}

export function formatStatus(statuses: readonly ServiceStatus[]): string {
  const lines = [row('SERVICE', 'STATE', 'ADDRESS', 'DETAIL')];
  for (const status of statuses) {
    const owner = ownerText(status);
    const detail = owner === '' ? status.detail : `[${owner}] ${status.detail}`;
    lines.push(row(status.service, status.running ? 'running' : 'DOWN', status.address, detail));
    if (!status.running && status.howToStart !== undefined) lines.push(`${''.padEnd(NAME_WIDTH)}start it: ${status.howToStart}`);
  }
  return lines.join('\n');
}

function upDetail(result: ServiceUpResult): string {
  if (result.action === 'failed') return result.error === undefined ? result.detail : `${result.error.code}: ${result.error.message}`;
  const phases = Object.entries(result.phases).map(([name, ms]) => `${name} ${seconds(ms)}`);
  const timing = result.action === 'started' ? `in ${seconds(result.durationMs)}${phases.length === 0 ? '' : ` (${phases.join(', ')})`}; ` : '';
  const pid = result.pid === undefined ? '' : `pid ${result.pid}, `;
  return `${timing}${pid}${result.detail}`;
}

export function formatUpReport(report: InfraUpReport): string {
  const lines = [row('SERVICE', 'RESULT', 'ADDRESS', 'DETAIL')];
  for (const result of report.results) {
    lines.push(row(result.service, result.action === 'already-running' ? 'already running' : result.action, result.address, upDetail(result)));
  }
  const failed = report.results.filter((result) => result.action === 'failed');
  lines.push(
    failed.length === 0
      ? `infra up: ${report.results.length} service(s) ready in ${seconds(report.durationMs)}`
      : `infra up: ${failed.length} of ${report.results.length} service(s) failed after ${seconds(report.durationMs)}: ${failed.map((result) => result.service).join(', ')}`,
  );
  return lines.join('\n');
}

export function formatDown(results: readonly ServiceDownResult[]): string {
  const lines = [row('SERVICE', 'RESULT', 'ADDRESS', 'DETAIL')];
  for (const result of results) lines.push(row(result.service, result.action, result.address, result.detail));
  return lines.join('\n');
}
