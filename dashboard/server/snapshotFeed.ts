/**
 * The dashboard's live feed: once a tick it reads the pipeline's figures (always, so the rate
 * history behind the sparklines has no gaps) and, while someone watches, the fleet, the alerts
 * and the dead-letter totals; it turns counters into rates and hands the snapshot to the
 * listeners (the SSE connections). A source that fails leaves its section out and says why in
 * `problems`: one broken part does not blank the page, and never stops the feed.
 */
import { errorMessage } from '../../core/errors';
import type { DashboardSources, PipelineFigures } from './dashboardSources';
import type { DashboardSnapshot, RateHistory, StageView } from './snapshotTypes';

export type { DashboardSnapshot, RateHistory, StageView };

export interface SnapshotFeedOptions {
  sources: DashboardSources;
  intervalMs: number;
  /** ticks of rate history kept for the sparklines */
  historyLength: number;
  /** devices sent per snapshot (the fleet table); the API pages through the rest */
  deviceLimit: number;
}

export function ratePerSecond(current: number | null, previous: number | null | undefined, seconds: number): number | null {
  if (current === null || previous === null || previous === undefined || seconds <= 0) return null;
  // a counter that went down was restarted (a new pipeline): no rate rather than a negative one
  return current < previous ? null : (current - previous) / seconds;
}

export class SnapshotFeed {
  private readonly listeners = new Set<(snapshot: DashboardSnapshot) => void>();
  private readonly history: RateHistory = { at: [], rates: {} };
  private previous: { at: number; figures: PipelineFigures } | undefined;
  private latest: DashboardSnapshot | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: SnapshotFeedOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    void this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
    this.listeners.clear();
  }

  /** Calls `listener` with every snapshot from now on (and at once with the latest); returns the unsubscribe. */
  subscribe(listener: (snapshot: DashboardSnapshot) => void): () => void {
    this.listeners.add(listener);
    if (this.latest) listener(this.latest);
    else void this.tick();
    return () => this.listeners.delete(listener);
  }

  get watchers(): number {
    return this.listeners.size;
  }

  rateHistory(): RateHistory {
    return { at: [...this.history.at], rates: Object.fromEntries(Object.entries(this.history.rates).map(([name, rates]) => [name, [...rates]])) };
  }

  /** The newest full snapshot, reading one now if none was read yet (nobody was watching). */
  async current(): Promise<DashboardSnapshot> {
    if (this.latest && Date.now() - this.latest.at < this.options.intervalMs * 2) return this.latest;
    await this.running; // a tick under way may be a pipeline-only one
    await this.tick(true);
    if (!this.latest) throw new Error('dashboard feed stopped');
    return this.latest;
  }

  /** One tick; ticks never overlap (a slow source delays the next one instead of piling up). */
  tick(full = false): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= this.read(full || this.listeners.size > 0).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async read(full: boolean): Promise<void> {
    const at = Date.now();
    const problems: Record<string, string> = {};
    const figures = await this.options.sources.pipeline().catch((error: unknown) => {
      problems.pipeline = errorMessage(error);
      return undefined;
    });
    const stages = figures ? this.stageViews(at, figures) : [];
    if (figures) this.previous = { at, figures };
    if (!full) return;
    const { sources } = this.options;
    const [fleet, alerts, deadLetters] = await Promise.all([
      sources.devices(this.options.deviceLimit).catch((error: unknown) => void (problems.devices = errorMessage(error))),
      sources.alerts().catch((error: unknown) => void (problems.alerts = errorMessage(error))),
      sources.deadLetters(0).catch((error: unknown) => void (problems.deadLetters = errorMessage(error))),
    ]);
    const snapshot: DashboardSnapshot = {
      at,
      stages,
      rejectedByReason: figures?.rejectedByReason ?? {},
      notes: figures?.notes ?? [],
      devices: fleet?.devices ?? [],
      deviceTotal: fleet?.total ?? 0,
      alerts: alerts ?? [],
      deadLetterTotals: deadLetters?.totals ?? {},
      problems,
    };
    this.latest = snapshot;
    for (const listener of this.listeners) listener(snapshot);
  }

  private stageViews(at: number, figures: PipelineFigures): StageView[] {
    const seconds = this.previous ? (at - this.previous.at) / 1000 : 0;
    const views = figures.stages.map((stage) => {
      const before = this.previous?.figures.stages.find((candidate) => candidate.name === stage.name);
      return { ...stage, ratePerSec: ratePerSecond(stage.recordsRead, before?.recordsRead, seconds) };
    });
    this.remember(at, views);
    return views;
  }

  private remember(at: number, views: readonly StageView[]): void {
    const { history } = this;
    const length = history.at.length;
    history.at.push(at);
    for (const view of views) {
      // a stage that appears later gets nulls for the ticks before it, so the series stay aligned
      const series = (history.rates[view.name] ??= new Array<number | null>(length).fill(null));
      series.push(view.ratePerSec);
    }
    for (const series of Object.values(history.rates)) if (series.length < history.at.length) series.push(null);
    const excess = history.at.length - this.options.historyLength;
    if (excess > 0) {
      history.at.splice(0, excess);
      for (const series of Object.values(history.rates)) series.splice(0, excess);
    }
  }
}
