import { performance } from 'node:perf_hooks';
import { AckLedger } from './ackLedger';
import { ANOMALY_KINDS } from './anomalyInjector';
import type { AnomalyKind } from './anomalyInjector';
import { FAULT_KINDS, FAULT_OUTCOMES } from './faultKinds';
import type { FaultKind } from './faultKinds';
import { LatencyHistogram } from './latencyHistogram';
import type { SimulatedMessage } from './simulatedDevice';

export interface FaultyMessage {
  deviceId: string;
  seq: number;
  fault: FaultKind;
  topic: string;
  bytes: number;
}

function zeroCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
}

/** Counts of everything the fleet did, updated as messages are sent, acked and failed. */
export class FleetAccounting {
  readings = 0;
  sent = 0;
  acked = 0;
  failed = 0;
  connects = 0;
  disconnects = 0;
  firstSentAt: number | null = null;
  lastAckAt: number | null = null;
  readonly skipped = { notConnected: 0, backpressure: 0, lag: 0 };
  readonly faultsSent = zeroCounts(FAULT_KINDS);
  readonly faultsAcked = zeroCounts(FAULT_KINDS);
  readonly anomalyReadings: Record<AnomalyKind, number> = zeroCounts(ANOMALY_KINDS);
  readonly failures: Record<string, number> = {};
  readonly ackedPerDevice = new Map<string, number>();
  readonly latency = new LatencyHistogram();
  readonly ledger = new AckLedger();
  /** Every faulty message sent (up to a limit), for tests that follow each one downstream. */
  readonly faultLog: FaultyMessage[] = [];

  constructor(private readonly faultLogLimit = 100_000) {}

  messagesSent(messages: readonly SimulatedMessage[]): void {
    this.firstSentAt ??= performance.now();
    this.sent += messages.length;
    for (const message of messages) {
      // A duplicate copy is the same reading again: count its anomaly once.
      if (message.anomaly !== null && message.fault !== 'duplicate') this.anomalyReadings[message.anomaly] += 1;
      if (message.fault === null) continue;
      this.faultsSent[message.fault] += 1;
      if (this.faultLog.length < this.faultLogLimit) {
        this.faultLog.push({ deviceId: message.deviceId, seq: message.seq, fault: message.fault, topic: message.topic, bytes: message.payload.length });
      }
    }
  }

  messageAcked(message: SimulatedMessage, latencyMs: number): void {
    this.acked += 1;
    this.lastAckAt = performance.now();
    this.latency.recordMs(latencyMs);
    this.ackedPerDevice.set(message.deviceId, (this.ackedPerDevice.get(message.deviceId) ?? 0) + 1);
    if (message.fault === null || FAULT_OUTCOMES[message.fault].lands === 'stream') {
      this.ledger.recordAccepted(message.deviceId, message.seq);
    } else {
      this.ledger.recordRejected({ deviceId: message.deviceId, seq: message.seq, fault: message.fault, topic: message.topic });
    }
    if (message.fault !== null) this.faultsAcked[message.fault] += 1;
  }

  messageFailed(_message: SimulatedMessage, reason: string): void {
    this.failed += 1;
    this.failures[reason] = (this.failures[reason] ?? 0) + 1;
  }

  byFault(): Record<FaultKind, { sent: number; acked: number }> {
    return Object.fromEntries(FAULT_KINDS.map((kind) => [kind, { sent: this.faultsSent[kind], acked: this.faultsAcked[kind] }])) as Record<
      FaultKind,
      { sent: number; acked: number }
    >;
  }
}
