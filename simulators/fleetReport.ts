import { performance } from 'node:perf_hooks';
import { ANOMALY_KINDS } from './anomalyInjector';
import type { AnomalyKind } from './anomalyInjector';
import type { FaultKind } from './faultKinds';
import type { FleetAccounting } from './fleetAccounting';
import type { FleetOptions } from './fleetOptions';
import type { LatencySummary } from './latencyHistogram';
import type { PayloadFormat } from './readingPayload';
import type { SimulatedDevice } from './simulatedDevice';

/** What a fleet run did. sent = acked + failed + unacked + unsent. */
export interface FleetReport {
  mode: 'per-device' | 'gateway';
  devices: number;
  connections: number;
  qos: 0 | 1;
  cleanSession: boolean;
  payload: PayloadFormat;
  seed: number;
  /** Readings per second asked for. */
  targetRate: number;
  /** From start until readings stopped (duration reached, all readings taken, or stop()). */
  durationMs: number;
  /** Time spent after that waiting for acks and closing connections. */
  drainMs: number;
  /** Readings taken (each may become zero, one or several messages). */
  readings: number;
  /** Messages handed to a connection. */
  sent: number;
  /** Acknowledged: PUBACK for QoS 1, written to the socket for QoS 0. */
  acked: number;
  failed: number;
  /** In flight when the drain timeout ended the run. */
  unacked: number;
  /** Still queued in an outbox when the drain timeout ended the run. */
  unsent: number;
  /** Acked messages per second, from start to the last ack. */
  achievedRate: number;
  /** Messages sent per second over durationMs. */
  sentRate: number;
  latencyMs: LatencySummary;
  /** Reading slots not used, by why: the device had not connected yet, its outbox was full, the process fell behind. */
  skipped: { notConnected: number; backpressure: number; lag: number };
  byFault: Record<FaultKind, { sent: number; acked: number }>;
  anomalies: { readings: Record<AnomalyKind, number>; episodes: Record<AnomalyKind, number> };
  offlineEpisodes: number;
  /** Distinct (deviceId, seq) acked that the telemetry stream should hold. */
  ackedReadings: number;
  /** Acked messages that ingest should dead-letter (their detail is in fleet.ledger.rejected). */
  ackedRejects: number;
  failures: Record<string, number>;
  connects: number;
  disconnects: number;
  perDevice: Record<string, { deviceType: string; lastSeq: number; acked: number }>;
}

export interface FleetRunRecord {
  options: FleetOptions;
  devices: readonly SimulatedDevice[];
  connections: number;
  accounting: FleetAccounting;
  startedAt: number;
  readingsStoppedAt: number;
  /** What each connection still held when it closed. */
  closed: ReadonlyArray<{ unacked: number; unsent: number }>;
}

export function buildFleetReport(run: FleetRunRecord): FleetReport {
  const { options, accounting, startedAt, readingsStoppedAt } = run;
  const durationMs = readingsStoppedAt - startedAt;
  const ackSeconds = Math.max(1e-3, ((accounting.lastAckAt ?? readingsStoppedAt) - startedAt) / 1000);
  const episodes = Object.fromEntries(ANOMALY_KINDS.map((kind) => [kind, 0])) as Record<AnomalyKind, number>;
  const perDevice: FleetReport['perDevice'] = {};
  let offlineEpisodes = 0;
  for (const device of run.devices) {
    for (const kind of ANOMALY_KINDS) episodes[kind] += device.anomalyEpisodeCounts[kind] ?? 0;
    offlineEpisodes += device.offlineEpisodes;
    perDevice[device.deviceId] = {
      deviceType: device.deviceType,
      lastSeq: run.options.firstSeq + device.readingsTaken - 1,
      acked: accounting.ackedPerDevice.get(device.deviceId) ?? 0,
    };
  }
  return {
    mode: options.gateway ? 'gateway' : 'per-device',
    devices: options.devices,
    connections: run.connections,
    qos: options.qos,
    cleanSession: options.cleanSession,
    payload: options.payload,
    seed: options.seed,
    targetRate: options.rate,
    durationMs: Math.round(durationMs),
    drainMs: Math.round(performance.now() - readingsStoppedAt),
    readings: accounting.readings,
    sent: accounting.sent,
    acked: accounting.acked,
    failed: accounting.failed,
    unacked: run.closed.reduce((sum, result) => sum + result.unacked, 0),
    unsent: run.closed.reduce((sum, result) => sum + result.unsent, 0),
    achievedRate: Math.round(accounting.acked / ackSeconds),
    sentRate: Math.round(accounting.sent / Math.max(1e-3, durationMs / 1000)),
    latencyMs: accounting.latency.summary(),
    skipped: { ...accounting.skipped },
    byFault: accounting.byFault(),
    anomalies: { readings: { ...accounting.anomalyReadings }, episodes },
    offlineEpisodes,
    ackedReadings: accounting.ledger.acceptedCount,
    ackedRejects: accounting.ledger.rejected.length + accounting.ledger.rejectedDropped,
    failures: { ...accounting.failures },
    connects: accounting.connects,
    disconnects: accounting.disconnects,
    perDevice,
  };
}
