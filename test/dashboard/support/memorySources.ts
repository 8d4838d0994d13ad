/**
 * DashboardSources held in memory, for the tests of the HTTP layer (routing, tokens, SSE): the
 * sources behind a real pipeline are tested against real servers in dashboardSources.test.ts
 * and the browser test.
 */
import { DashboardNotFoundError } from '../../../dashboard/server/dashboardSources';
import type { AlertView, DashboardSources, DeadLetterPage, DeviceSummary, LatestReading, PipelineFigures, ReplayOutcome, WindowAggregateView } from '../../../dashboard/server/dashboardSources';

export class MemorySources implements DashboardSources {
  recordsRead = 0;
  closed = false;
  failAlerts: string | undefined;
  readonly devicesList: DeviceSummary[] = [];
  readonly alertList: AlertView[] = [];
  readonly replayed: string[] = [];
  readonly windowCalls: Array<{ deviceId: string; from: number; to: number }> = [];

  async pipeline(): Promise<PipelineFigures> {
    return {
      stages: [{ name: 'stage-a', source: 'telemetry', recordsRead: this.recordsRead, errors: 0, lagMs: 12, lagRecords: null, instances: 1 }],
      rejectedByReason: { bad_json: 2 },
      notes: ['memory'],
    };
  }

  async devices(limit: number): Promise<{ devices: DeviceSummary[]; total: number }> {
    return { devices: this.devicesList.slice(0, limit), total: this.devicesList.length };
  }

  async latest(deviceId: string): Promise<LatestReading | null> {
    const device = this.devicesList.find((candidate) => candidate.deviceId === deviceId);
    return device?.lastSeen ? { deviceId, eventTime: device.lastSeen, metrics: device.latest } : null;
  }

  async windows(deviceId: string, from: number, to: number): Promise<WindowAggregateView[]> {
    this.windowCalls.push({ deviceId, from, to });
    return [];
  }

  async alerts(): Promise<AlertView[]> {
    if (this.failAlerts !== undefined) throw new Error(this.failAlerts);
    return this.alertList.filter((alert) => alert.state !== 'cleared');
  }

  private change(alertId: string, state: AlertView['state']): AlertView {
    const alert = this.alertList.find((candidate) => candidate.alertId === alertId);
    if (!alert) throw new DashboardNotFoundError(`no alert ${alertId}`);
    alert.state = state;
    alert.updatedAt += 1;
    return { ...alert };
  }

  async ackAlert(alertId: string): Promise<AlertView> {
    return this.change(alertId, 'acknowledged');
  }

  async clearAlert(alertId: string): Promise<AlertView> {
    return this.change(alertId, 'cleared');
  }

  async deadLetters(limit: number): Promise<DeadLetterPage> {
    return { entries: [].slice(0, limit), totals: { 'telemetry-dlq': 0 } };
  }

  async replayDeadLetter(id: string): Promise<ReplayOutcome> {
    if (!id.startsWith('telemetry-dlq/')) throw new DashboardNotFoundError(`no dead letter ${id}`);
    this.replayed.push(id);
    return { id, replayedRecords: 1, target: 'telemetry' };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export function sampleAlert(alertId: string): AlertView {
  return { alertId, deviceId: 'dev-1', ruleId: 'temperature_max', severity: 'warning', state: 'open', value: 41, threshold: 30, message: 'temperature 41 above 30', raisedAt: 1_700_000_000_000, updatedAt: 1_700_000_000_000 };
}
