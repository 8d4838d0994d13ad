import type { TelemetryReading } from '../schemas/records';
import { AnomalyInjector } from './anomalyInjector';
import type { AnomalyKind, AnomalyOptions } from './anomalyInjector';
import { FAULT_KINDS } from './faultKinds';
import type { FaultKind, FaultRates } from './faultKinds';
import { encodeReadingJson, readingToJsonObject } from './readingPayload';
import type { ReadingEncoder } from './readingPayload';
import { deviceRandom } from './seededRandom';
import type { SeededRandom } from './seededRandom';
import { createSignal } from './signals/createSignal';
import type { DeviceType, SignalModel } from './signals/signalModel';

/** One MQTT publish the device wants to make, with the simulator's own record of what it is. */
export interface SimulatedMessage {
  /** The device that produced the reading (for wrong-topic, not the one the topic names). */
  deviceId: string;
  seq: number;
  /** The event time the payload carries (shifted for clock-skew). */
  eventTime: number;
  topic: string;
  payload: Buffer;
  fault: FaultKind | null;
  anomaly: AnomalyKind | null;
}

export interface AnomalyEpisode {
  deviceId: string;
  kind: AnomalyKind;
  metric: string;
  fromSeq: number;
  toSeq: number;
}

export interface SimulatedDeviceOptions {
  seed: number;
  index: number;
  deviceId: string;
  deviceType: DeviceType;
  topicPrefix: string;
  anomalies: AnomalyOptions;
  faults: FaultRates;
  /** The size limit an oversized payload must exceed. */
  oversizeBytes: number;
  /** Largest clock error of a device with the clock-skew fault. */
  clockSkewMaxMs: number;
  /** How many readings an offline spell lasts: [min, max]. */
  offlineReadings: readonly [number, number];
  /** Whose topic the wrong-topic fault publishes on. */
  impostorTargetId: string;
  /** The first reading's sequence number (a real device's counter survives restarts; a run can start where the last ended). */
  firstSeq?: number;
  /** Bytes of a valid reading (JSON, or Avro in the wire format). */
  encode: ReadingEncoder;
  /** Episodes kept per device (counts are always exact). */
  anomalyLogLimit?: number;
}

export function telemetryTopic(topicPrefix: string, deviceId: string): string {
  return `${topicPrefix}/${deviceId}/telemetry`;
}

export function statusTopic(topicPrefix: string, deviceId: string): string {
  return `${topicPrefix}/${deviceId}/status`;
}

/**
 * One device: a signal, anomalies on its primary metric, and the faults it suffers. Three
 * independent seeded streams (signal, anomaly, fault) so turning faults on does not change the
 * values a device measures. `read(eventTime)` returns zero (offline), one, or several messages.
 */
export class SimulatedDevice {
  readonly deviceId: string;
  readonly deviceType: DeviceType;
  readonly topic: string;
  readonly anomalyEpisodes: AnomalyEpisode[] = [];
  readonly anomalyEpisodeCounts: Partial<Record<AnomalyKind, number>> = {};
  offlineEpisodes = 0;
  private nextSeq = 0;
  private readonly signal: SignalModel;
  private readonly anomalies: AnomalyInjector;
  private readonly faultRandom: SeededRandom;
  private readonly clockSkewMs: number;
  private offlineReadingsLeft = 0;
  private backlog: SimulatedMessage[] = [];
  private currentEpisode: AnomalyEpisode | null = null;
  private lastAnomaly: AnomalyKind | null = null;

  constructor(private readonly options: SimulatedDeviceOptions) {
    this.deviceId = options.deviceId;
    this.deviceType = options.deviceType;
    this.topic = telemetryTopic(options.topicPrefix, options.deviceId);
    this.signal = createSignal(options.deviceType, deviceRandom(options.seed, options.index, 'signal'));
    const anomalyRandom = deviceRandom(options.seed, options.index, 'anomaly');
    this.anomalies = new AnomalyInjector(anomalyRandom, options.anomalies, this.signal.primaryMetric, this.signal.anomalyScale);
    this.faultRandom = deviceRandom(options.seed, options.index, 'fault');
    // A device's clock is wrong by the same amount every time it is wrong (it has no NTP).
    this.clockSkewMs = Math.round(this.faultRandom.sign() * this.faultRandom.between(0.2, 1) * options.clockSkewMaxMs);
  }

  /** The sequence number the next reading will get (= readings taken so far). */
  get readingsTaken(): number {
    return this.nextSeq;
  }

  get backlogSize(): number {
    return this.backlog.length;
  }

  /** The device comes back before the run ends: whatever it buffered offline, oldest first. */
  flushBacklog(): SimulatedMessage[] {
    const backlog = this.backlog;
    this.backlog = [];
    this.offlineReadingsLeft = 0;
    return backlog;
  }

  read(eventTime: number): SimulatedMessage[] {
    const reading = this.takeReading(eventTime);
    const anomaly = this.lastAnomaly;
    if (this.offlineReadingsLeft > 0) {
      this.offlineReadingsLeft -= 1;
      this.backlog.push(this.message(reading, 'offline', anomaly));
      return [];
    }
    const backlog = this.backlog;
    if (backlog.length > 0) {
      // Back online: the live reading goes first, then the backlog, oldest first (late, out of order).
      this.backlog = [];
      return [this.message(reading, null, anomaly), ...backlog];
    }
    const fault = this.drawFault();
    switch (fault) {
      case null:
        return [this.message(reading, null, anomaly)];
      case 'offline':
        this.offlineEpisodes += 1;
        this.offlineReadingsLeft = this.faultRandom.integer(this.options.offlineReadings[0], this.options.offlineReadings[1]) - 1;
        this.backlog.push(this.message(reading, 'offline', anomaly));
        return [];
      case 'duplicate': {
        const original = this.message(reading, null, anomaly);
        return [original, { ...original, fault: 'duplicate' }];
      }
      case 'clock-skew':
        return [this.message({ ...reading, eventTime: reading.eventTime + this.clockSkewMs }, 'clock-skew', anomaly)];
      case 'wrong-topic':
        return [{ ...this.message(reading, 'wrong-topic', anomaly), topic: telemetryTopic(this.options.topicPrefix, this.options.impostorTargetId) }];
      default:
        return [this.corruptedMessage(reading, fault, anomaly)];
    }
  }

  private takeReading(eventTime: number): TelemetryReading {
    const seq = (this.options.firstSeq ?? 0) + this.nextSeq;
    this.nextSeq += 1;
    const sample = this.signal.next(eventTime);
    const applied = this.anomalies.apply(sample.metrics);
    this.lastAnomaly = applied?.kind ?? null;
    this.recordAnomaly(applied, seq);
    const reading: TelemetryReading = {
      deviceId: this.deviceId,
      deviceType: this.deviceType,
      eventTime,
      seq,
      metrics: sample.metrics,
      firmware: this.signal.firmware,
    };
    if (sample.location != null) reading.location = sample.location;
    if (sample.battery != null) reading.battery = sample.battery;
    return reading;
  }

  private recordAnomaly(applied: { kind: AnomalyKind; started: boolean } | null, seq: number): void {
    if (applied === null) {
      this.currentEpisode = null;
      return;
    }
    if (applied.started || this.currentEpisode === null || this.currentEpisode.kind !== applied.kind) {
      this.anomalyEpisodeCounts[applied.kind] = (this.anomalyEpisodeCounts[applied.kind] ?? 0) + 1;
      this.currentEpisode = { deviceId: this.deviceId, kind: applied.kind, metric: this.signal.primaryMetric, fromSeq: seq, toSeq: seq };
      if (this.anomalyEpisodes.length < (this.options.anomalyLogLimit ?? 10_000)) this.anomalyEpisodes.push(this.currentEpisode);
    } else {
      this.currentEpisode.toSeq = seq;
    }
  }

  /** One uniform draw walks the enabled kinds in a fixed order: at most one fault per reading. */
  private drawFault(): FaultKind | null {
    const draw = this.faultRandom.next();
    let threshold = 0;
    for (const kind of FAULT_KINDS) {
      const rate = this.options.faults[kind] ?? 0;
      if (rate <= 0) continue;
      threshold += rate;
      if (draw < threshold) return kind;
    }
    return null;
  }

  private message(reading: TelemetryReading, fault: FaultKind | null, anomaly: AnomalyKind | null): SimulatedMessage {
    return {
      deviceId: reading.deviceId,
      seq: reading.seq,
      eventTime: reading.eventTime,
      topic: this.topic,
      payload: this.options.encode(reading),
      fault,
      anomaly,
    };
  }

  /**
   * Payloads ingest must reject; deviceId and seq stay readable in every JSON one. With Avro
   * payloads, malformed is truncated Avro, and the other corruptions are JSON (not Avro at all).
   */
  private corruptedMessage(reading: TelemetryReading, fault: FaultKind, anomaly: AnomalyKind | null): SimulatedMessage {
    const json = readingToJsonObject(reading);
    let text: string;
    switch (fault) {
      case 'malformed-json': {
        if (this.options.encode !== encodeReadingJson) {
          // Avro (or another binary form): cut short after the 5-byte header, so the body is truncated.
          const full = this.options.encode(reading);
          return { ...this.message(reading, fault, anomaly), payload: full.subarray(0, this.faultRandom.integer(6, full.length - 1)) };
        }
        const full = JSON.stringify(json);
        // Any proper prefix of a JSON object is invalid JSON; cut after eventTime so the identity survives.
        const identityEnd = full.indexOf(',"deviceType"') + 1;
        text = full.slice(0, this.faultRandom.integer(identityEnd, full.length - 1));
        break;
      }
      case 'wrong-types': {
        // Firmware bugs seen in the field: a number sent as a string, a failed read sent as null,
        // a list where a map belongs. (Not eventTime as an ISO string: ingest accepts that form.)
        const metric = this.signal.primaryMetric;
        const variant = this.faultRandom.integer(0, 2);
        if (variant === 2) json.metrics = Object.values(reading.metrics);
        else json.metrics = { ...reading.metrics, [metric]: variant === 0 ? String(reading.metrics[metric]) : null };
        text = JSON.stringify(json);
        break;
      }
      case 'missing-fields':
        delete json[this.faultRandom.chance(0.5) ? 'metrics' : 'deviceType'];
        text = JSON.stringify(json);
        break;
      case 'oversized': {
        const base = JSON.stringify(json).length;
        const target = this.options.oversizeBytes + this.faultRandom.integer(1, 4096);
        // A device dumping a diagnostics log into its telemetry: valid JSON, just too big.
        json.diagnostics = 'x'.repeat(Math.max(0, target - base - ',"diagnostics":""'.length));
        text = JSON.stringify(json);
        break;
      }
      default:
        throw new RangeError(`fault ${fault} does not corrupt the payload`);
    }
    return { deviceId: reading.deviceId, seq: reading.seq, eventTime: reading.eventTime, topic: this.topic, payload: Buffer.from(text), fault, anomaly };
  }
}
