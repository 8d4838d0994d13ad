/**
 * The narrow interface the dashboard reads and acts through. The server knows nothing of
 * Kafka, Redis or PostgreSQL: `sluice up` gives it sources built on its LocalPipeline, and
 * `sluice dashboard` sources built on the running parts (stream offsets, Redis, PostgreSQL).
 * Every shape here is plain JSON, because it is what the API sends to the page.
 */

/** One stage of the pipeline: a function reading a stream, or ingest. Cumulative counters; the server derives rates. */
export interface StageFigures {
  name: string;
  /** the stream the stage reads ('mqtt' for ingest) */
  source: string;
  /** records taken in so far; null when this source of figures cannot tell */
  recordsRead: number | null;
  errors: number | null;
  /** iterator age: how old the newest record read is when it is read (Lambda's IteratorAge); null when unknown */
  lagMs: number | null;
  /** records in the stream not yet checkpointed (Kafka consumer-group lag); null when unknown */
  lagRecords: number | null;
  /** running function instances; null when unknown */
  instances: number | null;
}

export interface PipelineFigures {
  stages: StageFigures[];
  /** ingest rejections by reason (dead-lettered at ingest); empty when unknown */
  rejectedByReason: Record<string, number>;
  /** what this source of figures cannot tell, shown on the page as it is */
  notes: string[];
}

export interface GeoPoint {
  lat: number;
  lon: number;
}

/** A device of the fleet as the fleet table shows it. */
export interface DeviceSummary {
  deviceId: string;
  deviceType: string;
  siteId: string;
  /** epoch ms of the newest reading seen; null when none was */
  lastSeen: number | null;
  latest: Record<string, number>;
  location: GeoPoint | null;
}

export interface LatestReading {
  deviceId: string;
  eventTime: number;
  metrics: Record<string, number>;
}

/** One closed or open window of one metric of one device. */
export interface WindowAggregateView {
  metric: string;
  windowStart: number;
  windowEnd: number;
  count: number;
  mean: number;
  min: number;
  max: number;
}

export type AlertStateView = 'open' | 'acknowledged' | 'cleared';

export interface AlertView {
  alertId: string;
  deviceId: string;
  ruleId: string;
  severity: string;
  state: AlertStateView;
  value: number;
  threshold: number;
  message: string;
  raisedAt: number;
  updatedAt: number;
}

/** Which dead-letter stream an entry sits in. */
export type DeadLetterKind = 'ingest' | 'processor' | 'failure';

export interface DeadLetterEntry {
  /** `<stream>/<partition>/<position>`: what replay takes */
  id: string;
  kind: DeadLetterKind;
  stream: string;
  /** machine-readable reason: ingest/processor reason code, or the on-failure condition */
  reason: string;
  message: string;
  /** epoch ms the record was dead-lettered */
  time: number;
  /** where the failed input came from: MQTT topic, stream scope, source partition and positions */
  source: string;
  /** the first bytes of the original input, as text when it is text, else hex */
  payloadPreview: string;
  payloadBytes: number;
  /** why replay is refused, when it is (a failure record without its records) */
  replayRefusal: string | null;
  /** where replay sends it */
  replayTarget: string | null;
}

export interface DeadLetterPage {
  /** newest first */
  entries: DeadLetterEntry[];
  /** records read per dead-letter stream since the dashboard started reading it (from its beginning) */
  totals: Record<string, number>;
}

export interface ReplayOutcome {
  id: string;
  replayedRecords: number;
  target: string;
}

/** A failure a source reports as data (an unknown id): the server answers 404 instead of 500. */
export class DashboardNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DashboardNotFoundError';
  }
}

export interface DashboardSources {
  pipeline(): Promise<PipelineFigures>;
  /** the fleet (registry joined with the latest values), at most `limit` devices, ordered by id */
  devices(limit: number): Promise<{ devices: DeviceSummary[]; total: number }>;
  latest(deviceId: string): Promise<LatestReading | null>;
  windows(deviceId: string, from: number, to: number): Promise<WindowAggregateView[]>;
  /** open and acknowledged alerts, newest first */
  alerts(): Promise<AlertView[]>;
  /** DashboardNotFoundError for an unknown id */
  ackAlert(alertId: string, by: string): Promise<AlertView>;
  clearAlert(alertId: string, by: string): Promise<AlertView>;
  deadLetters(limit: number): Promise<DeadLetterPage>;
  /** DashboardNotFoundError for an unknown id; a SluiceError when it cannot be replayed */
  replayDeadLetter(id: string): Promise<ReplayOutcome>;
  close(): Promise<void>;
}
