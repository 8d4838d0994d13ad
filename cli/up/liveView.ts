/**
 * The terminal view of a running pipeline: one row per stage with its rate, total, lag and
 * errors, redrawn in place once a second on a TTY. Rendering is a pure function of two
 * snapshots, so it is tested without a terminal.
 */
import type { PipelineStats } from '../pipeline/localPipeline';

export interface FleetFigures {
  sent: number;
  acked: number;
  failed: number;
  devices: number;
  connected: number;
}

export interface LiveSnapshot {
  at: number;
  elapsedMs: number;
  fleet: FleetFigures;
  pipeline: PipelineStats;
  openAlerts?: number;
  processorDeadLetters?: number;
}

function rate(current: number, previous: number | undefined, seconds: number): string {
  if (previous === undefined || seconds <= 0) return '-';
  return Math.max(0, (current - previous) / seconds).toFixed(0);
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function clock(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
}

/** The lines of the view; `previous` gives the rates (undefined: first frame). */
export function renderLiveView(current: LiveSnapshot, previous: LiveSnapshot | undefined, title: string): string[] {
  const seconds = previous ? (current.at - previous.at) / 1000 : 0;
  const rows: Array<[string, string, string, string, string]> = [['stage', 'per s', 'total', 'lag ms', 'errors']];
  rows.push(['devices → MQTT (acked)', rate(current.fleet.acked, previous?.fleet.acked, seconds), String(current.fleet.acked), '', String(current.fleet.failed)]);
  const ingest = current.pipeline.ingest;
  const rejected = Object.values(ingest.rejected).reduce((sum, n) => sum + n, 0);
  rows.push(['ingest → telemetry', rate(ingest.produced, previous?.pipeline.ingest.produced, seconds), String(ingest.produced), '', rejected > 0 ? `${rejected} dlq` : '0']);
  for (const stage of current.pipeline.stages) {
    const before = previous?.pipeline.stages.find((candidate) => candidate.name === stage.name);
    rows.push([`${stage.name} (${stage.source})`, rate(stage.recordsRead, before?.recordsRead, seconds), String(stage.recordsRead), String(Math.round(stage.iteratorAgeMs)), String(stage.errors)]);
  }
  const widths = [0, 1, 2, 3, 4].map((column) => Math.max(...rows.map((row) => row[column as 0]?.length ?? 0)));
  const lines = [`${title} — ${clock(current.elapsedMs)}, ${current.fleet.connected}/${current.fleet.devices} devices connected`];
  for (const row of rows) {
    lines.push(row.map((cell, column) => pad(cell, widths[column] ?? 0, column > 0)).join('  '));
  }
  const reasons = Object.entries(ingest.rejected).map(([reason, count]) => `${reason} ${count}`).join(', ');
  lines.push(`dead-lettered at ingest: ${rejected}${reasons ? ` (${reasons})` : ''}; processor DLQ: ${current.processorDeadLetters ?? '-'}; open alerts: ${current.openAlerts ?? '-'}`);
  const failing = Object.entries(current.pipeline.scheduled).filter(([, stats]) => stats.failures > 0);
  for (const [name, stats] of failing) lines.push(`${name}: ${stats.failures} failed run(s), last: ${stats.lastError ?? ''}`);
  return lines;
}

/** Redraws in place on a TTY; elsewhere writes one short line every `quietEveryMs`. */
export class LiveView {
  private drawnLines = 0;
  private lastQuietAt = 0;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly title: string,
    private readonly quietEveryMs = 10_000,
  ) {}

  get interactive(): boolean {
    return this.out.isTTY === true;
  }

  draw(current: LiveSnapshot, previous: LiveSnapshot | undefined): void {
    if (!this.interactive) {
      if (current.at - this.lastQuietAt < this.quietEveryMs) return;
      this.lastQuietAt = current.at;
      this.out.write(`${clock(current.elapsedMs)} acked ${current.fleet.acked}, ingested ${current.pipeline.ingest.produced}, ${current.pipeline.stages.map((s) => `${s.name} ${s.recordsRead}`).join(', ')}\n`);
      return;
    }
    const lines = renderLiveView(current, previous, this.title);
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A` : '';
    this.out.write(`${up}\x1b[0J${lines.join('\n')}\n`);
    this.drawnLines = lines.length;
  }
}
