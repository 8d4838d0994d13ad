/**
 * What the feed pushes to the page each tick (SSE `snapshot` events, GET /api/snapshot) and the
 * rate history behind the sparklines. Types only, shared by the server and the page bundle.
 */
import type { AlertView, DeviceSummary, StageFigures } from './dashboardSources';

export interface StageView extends StageFigures {
  /** records per second since the previous tick; null on the first tick or when recordsRead is unknown */
  ratePerSec: number | null;
}

export interface DashboardSnapshot {
  at: number;
  stages: StageView[];
  rejectedByReason: Record<string, number>;
  notes: string[];
  devices: DeviceSummary[];
  deviceTotal: number;
  /** open and acknowledged alerts, newest first */
  alerts: AlertView[];
  /** records per dead-letter stream */
  deadLetterTotals: Record<string, number>;
  /** section -> why it could not be read this tick */
  problems: Record<string, string>;
}

export interface RateHistory {
  at: number[];
  /** stage name -> rate per tick, aligned with `at` */
  rates: Record<string, Array<number | null>>;
}
