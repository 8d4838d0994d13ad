/**
 * The chart of one device and one metric: its latest values as they arrive (a point per tick
 * from the live feed) over the windowed aggregates of the aggregate processor (mean, min and
 * max of each window, re-read every few seconds). uPlot draws both on one time axis.
 */
import uPlot from 'uplot';
import type { AlignedData } from 'uplot';
import type { DeviceSummary, LatestReading, WindowAggregateView } from '../server/dashboardSources';
import { api } from './api';
import { byId, el } from './dom';

const MAX_LIVE_POINTS = 900;
const WINDOW_RANGE_MS = 15 * 60_000;
const WINDOW_REFRESH_MS = 5000;

export const SERIES_COLORS = { latest: '#1f6fd1', mean: '#e07b00', bounds: '#9a9a9a' } as const;

/** The windows of the smallest size among those returned (a processor may keep several sizes). */
export function finestWindows(windows: readonly WindowAggregateView[], metric: string): WindowAggregateView[] {
  const ofMetric = windows.filter((window) => window.metric === metric);
  if (ofMetric.length === 0) return [];
  const size = Math.min(...ofMetric.map((window) => window.windowEnd - window.windowStart));
  return ofMetric.filter((window) => window.windowEnd - window.windowStart === size).sort((a, b) => a.windowStart - b.windowStart);
}

export class DeviceChart {
  private plot: uPlot | undefined;
  private deviceId: string | undefined;
  private metric: string | undefined;
  private live: Array<[number, number]> = [];
  private windows: WindowAggregateView[] = [];
  private lastSeen = 0;
  private windowsReadAt = 0;
  private readonly container = byId('device-chart');
  private readonly metricSelect = byId<HTMLSelectElement>('metric');

  constructor() {
    this.metricSelect.addEventListener('change', () => {
      this.metric = this.metricSelect.value;
      this.live = [];
      this.lastSeen = 0;
      void this.refreshLatest().then(() => this.draw());
    });
    window.addEventListener('resize', () => this.plot?.setSize({ width: this.width(), height: 260 }));
  }

  async show(device: DeviceSummary): Promise<void> {
    if (device.deviceId !== this.deviceId) {
      this.deviceId = device.deviceId;
      this.live = [];
      this.lastSeen = 0;
      this.windows = [];
      byId('device-name').textContent = `${device.deviceId} (${device.deviceType}, site ${device.siteId})`;
    }
    await Promise.all([this.refreshLatest(), this.refreshWindows()]);
    this.chooseMetric(device.latest);
    this.draw();
  }

  /** A tick of the live feed: the selected device's newest reading becomes a point. */
  onSnapshot(devices: readonly DeviceSummary[], now: number): void {
    if (this.deviceId === undefined) return;
    const device = devices.find((candidate) => candidate.deviceId === this.deviceId);
    if (device) this.addPoint(device.lastSeen, device.latest);
    if (now - this.windowsReadAt >= WINDOW_REFRESH_MS) void this.refreshWindows().then(() => this.draw());
    else this.draw();
  }

  private addPoint(at: number | null, metrics: Record<string, number>): void {
    const value = this.metric === undefined ? undefined : metrics[this.metric];
    if (at === null || at <= this.lastSeen || value === undefined) return;
    this.lastSeen = at;
    this.live.push([at / 1000, value]);
    if (this.live.length > MAX_LIVE_POINTS) this.live.splice(0, this.live.length - MAX_LIVE_POINTS);
  }

  private async refreshLatest(): Promise<void> {
    if (this.deviceId === undefined) return;
    const latest = await api<LatestReading>(`api/devices/${encodeURIComponent(this.deviceId)}/latest`).catch(() => undefined);
    if (latest) {
      this.chooseMetric(latest.metrics);
      this.addPoint(latest.eventTime, latest.metrics);
    }
  }

  private async refreshWindows(): Promise<void> {
    if (this.deviceId === undefined) return;
    const to = Date.now();
    this.windowsReadAt = to;
    this.windows = await api<WindowAggregateView[]>(`api/devices/${encodeURIComponent(this.deviceId)}/windows?from=${to - WINDOW_RANGE_MS}&to=${to}`).catch(() => this.windows);
  }

  private chooseMetric(latest: Record<string, number>): void {
    const metrics = [...new Set([...Object.keys(latest), ...this.windows.map((window) => window.metric)])].sort();
    const current = [...this.metricSelect.options].map((option) => option.value);
    if (metrics.join() !== current.join()) this.metricSelect.replaceChildren(...metrics.map((metric) => el('option', { value: metric }, [metric])));
    if (this.metric === undefined || !metrics.includes(this.metric)) this.metric = metrics[0];
    if (this.metric !== undefined) this.metricSelect.value = this.metric;
  }

  private width(): number {
    return Math.max(320, this.container.clientWidth);
  }

  private draw(): void {
    if (this.metric === undefined) return;
    const windows = finestWindows(this.windows, this.metric);
    const windowXs = windows.map((window) => (window.windowStart + window.windowEnd) / 2000);
    const data = uPlot.join([
      [this.live.map(([x]) => x), this.live.map(([, y]) => y)],
      [windowXs, windows.map((w) => w.mean), windows.map((w) => w.min), windows.map((w) => w.max)],
    ]) as AlignedData;
    const size = windows[0] ? (windows[0].windowEnd - windows[0].windowStart) / 1000 : undefined;
    byId('window-info').textContent = size === undefined ? 'no windows yet' : `${windows.length} ${windows.length === 1 ? 'window' : 'windows'} of ${size} s`;
    const points = data.slice(1).reduce((sum, series) => sum + (series as Array<number | null | undefined>).filter((y) => typeof y === 'number' && Number.isFinite(y)).length, 0);
    this.container.dataset.points = String(points);
    this.container.dataset.metric = this.metric;
    if (!this.plot || this.plot.series[1]?.label !== `${this.metric} latest`) {
      this.plot?.destroy();
      this.plot = new uPlot(this.options(this.metric), data, this.container);
    } else {
      this.plot.setData(data);
    }
  }

  private options(metric: string): uPlot.Options {
    return {
      width: this.width(),
      height: 260,
      scales: { x: { time: true } },
      series: [
        {},
        { label: `${metric} latest`, stroke: SERIES_COLORS.latest, width: 2, spanGaps: true, points: { show: true, size: 5, fill: SERIES_COLORS.latest } },
        { label: 'window mean', stroke: SERIES_COLORS.mean, width: 2, spanGaps: true },
        { label: 'window min', stroke: SERIES_COLORS.bounds, width: 1, dash: [4, 4], spanGaps: true },
        { label: 'window max', stroke: SERIES_COLORS.bounds, width: 1, dash: [4, 4], spanGaps: true },
      ],
      axes: [{}, { size: 60 }],
    };
  }
}
