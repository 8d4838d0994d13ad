import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { ConfigError } from '../core/errors';
import { silentLogger } from '../core/logger';
import type { AckLedger } from './ackLedger';
import { FleetAccounting } from './fleetAccounting';
import type { FaultyMessage } from './fleetAccounting';
import { createFleetDevices } from './fleetDevices';
import { resolveFleetOptions } from './fleetOptions';
import type { FleetOptions, FleetOptionsInput, OptionPath } from './fleetOptions';
import { buildFleetReport } from './fleetReport';
import type { FleetReport } from './fleetReport';
import { PublishConnection } from './publishConnection';
import { statusTopic } from './simulatedDevice';
import type { AnomalyEpisode, SimulatedDevice } from './simulatedDevice';
import { SlotScheduler } from './slotScheduler';

export interface FleetProgress {
  elapsedMs: number;
  readings: number;
  sent: number;
  acked: number;
  failed: number;
  /** Acked per second over the last progress interval. */
  currentRate: number;
  targetRate: number;
  connected: number;
  connections: number;
}

export interface FleetEvents {
  progress: [FleetProgress];
  connected: [clientId: string];
  disconnected: [clientId: string];
  stopped: [FleetReport];
}

/** Slots handled per timer turn before yielding to I/O (acks must get their turn). */
const SLOTS_PER_TURN = 2000;

/**
 * A running fleet: devices take readings on a shared, drift-free schedule and publish them
 * over their own MQTT connections (or a few gateway connections). Use `await fleet.stop()`
 * (or `await fleet.finished` with a duration / readingsPerDevice) for the report.
 */
export class Fleet extends EventEmitter<FleetEvents> {
  readonly options: FleetOptions;
  readonly devices: SimulatedDevice[];
  readonly connections: PublishConnection[];
  /** Resolves with the report once the fleet stopped, however it stopped. */
  readonly finished: Promise<FleetReport>;
  private readonly accounting = new FleetAccounting();
  private readonly connectionOfDevice: Int32Array;
  private readonly startedAt = performance.now();
  private readonly scheduler: SlotScheduler;
  private readonly timers = new Set<NodeJS.Timeout>();
  private tickTimer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private progressTimer: NodeJS.Timeout | null = null;
  private lastProgress = { at: this.startedAt, acked: 0 };
  private readingsStoppedAt: number | null = null;
  private devicesDone = 0;
  private stopPromise: Promise<FleetReport> | null = null;
  private resolveFinished: (report: FleetReport) => void = () => undefined;
  private readyWaiters: Array<() => void> = [];
  private connectedOnce = 0;

  constructor(options: FleetOptions) {
    super();
    this.options = options;
    this.finished = new Promise((resolve) => {
      this.resolveFinished = resolve;
    });
    this.devices = createFleetDevices(options);
    this.connectionOfDevice = new Int32Array(options.devices);
    this.connections = options.gateway ? this.createGatewayConnections() : this.createDeviceConnections();
    this.scheduler = new SlotScheduler(options.rate, this.startedAt, options.maxLagMs);
    this.rampUp();
    this.progressTimer = setInterval(() => this.emitProgress(), options.progressIntervalMs);
    this.scheduleTick(0);
  }

  /** Acked readings per device, for "nothing lost" checks downstream. */
  get ledger(): AckLedger {
    return this.accounting.ledger;
  }

  /** Every faulty message sent, with its kind, so a test can follow each one downstream. */
  get faultLog(): readonly FaultyMessage[] {
    return this.accounting.faultLog;
  }

  get anomalyEpisodes(): AnomalyEpisode[] {
    return this.devices.flatMap((device) => device.anomalyEpisodes);
  }

  /** Resolves once every connection has connected at least once (or the fleet stopped). */
  ready(): Promise<void> {
    if (this.connectedOnce === this.connections.length || this.stopPromise !== null) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  progress(): FleetProgress {
    const now = performance.now();
    const { acked } = this.accounting;
    const seconds = (now - this.lastProgress.at) / 1000;
    return {
      elapsedMs: Math.round(now - this.startedAt),
      readings: this.accounting.readings,
      sent: this.accounting.sent,
      acked,
      failed: this.accounting.failed,
      currentRate: seconds > 0 ? Math.round((acked - this.lastProgress.acked) / seconds) : 0,
      targetRate: this.options.rate,
      connected: this.connections.filter((connection) => connection.connected).length,
      connections: this.connections.length,
    };
  }

  /** Cuts a device's connection as a power loss would (its Last Will fires); it reconnects after reconnectPeriodMs. */
  dropConnection(deviceId: string): void {
    const index = this.devices.findIndex((device) => device.deviceId === deviceId);
    if (index < 0) throw new RangeError(`no device ${deviceId} in this fleet`);
    this.connections[this.connectionOfDevice[index] ?? 0]?.destroyAbruptly();
  }

  stop(): Promise<FleetReport> {
    this.stopPromise ??= this.shutdown();
    return this.stopPromise;
  }

  private createDeviceConnections(): PublishConnection[] {
    return this.devices.map((device, index) => {
      this.connectionOfDevice[index] = index;
      const topic = statusTopic(this.options.topicPrefix, device.deviceId);
      return this.createConnection(`${this.options.clientIdPrefix}${device.deviceId}`, topic, [topic], device.deviceId);
    });
  }

  /** A gateway's Last Will covers the gateway itself; its devices' statuses are published for them. */
  private createGatewayConnections(): PublishConnection[] {
    const { options } = this;
    const count = Math.min(options.gatewayConnections, options.devices);
    const statusTopics: string[][] = Array.from({ length: count }, () => []);
    this.devices.forEach((device, index) => {
      this.connectionOfDevice[index] = index % count;
      statusTopics[index % count]?.push(statusTopic(options.topicPrefix, device.deviceId));
    });
    return statusTopics.map((deviceTopics, gatewayIndex) => {
      const gatewayId = `${options.deviceIdPrefix}-gateway-${gatewayIndex}`;
      const gatewayTopic = statusTopic(options.topicPrefix, gatewayId);
      return this.createConnection(`${options.clientIdPrefix}${gatewayId}`, gatewayTopic, [gatewayTopic, ...deviceTopics], gatewayId);
    });
  }

  /** `identity`: the device (or gateway) id, which is also its user name on a secured broker. */
  private createConnection(clientId: string, willTopic: string, statusTopics: string[], identity: string): PublishConnection {
    const { options } = this;
    const password = options.credentials?.get(identity);
    if (options.credentials !== undefined && password === undefined) {
      // before any connection opens: a device without a password would only ever see "not authorized"
      throw new ConfigError('fleet.credentials', `no password for ${identity}; provision it (sluice devices provision) or run fewer devices`);
    }
    return new PublishConnection(
      {
        url: options.mqttUrl,
        clientId,
        cleanSession: options.cleanSession,
        qos: options.qos,
        willTopic,
        statusTopics,
        inflightWindow: options.inflightWindow,
        outboxLimit: options.outboxLimit,
        connectTimeoutMs: options.connectTimeoutMs,
        reconnectPeriodMs: options.reconnectPeriodMs,
        keepaliveSeconds: options.keepaliveSeconds,
        protocolVersion: options.protocolVersion,
        ...(password === undefined ? {} : { username: identity, password }),
        ...(options.tlsCa === undefined ? {} : { ca: options.tlsCa }),
        logger: options.logger ?? silentLogger,
      },
      {
        acked: (message, latencyMs) => this.accounting.messageAcked(message, latencyMs),
        failed: (message, reason) => this.accounting.messageFailed(message, reason),
        connected: (connection) => {
          this.accounting.connects += 1;
          if (connection.connects === 1) this.connectionReady();
          this.emit('connected', connection.options.clientId);
        },
        disconnected: (connection) => {
          this.accounting.disconnects += 1;
          this.emit('disconnected', connection.options.clientId);
        },
      },
    );
  }

  private connectionReady(): void {
    this.connectedOnce += 1;
    if (this.connectedOnce === this.connections.length) this.releaseReadyWaiters();
  }

  private releaseReadyWaiters(): void {
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Opens connections evenly over rampUpMs, so a big fleet does not hit the broker all at once. */
  private rampUp(): void {
    const count = this.connections.length;
    this.connections.forEach((connection, index) => {
      const delay = this.options.rampUpMs > 0 && count > 1 ? (index * this.options.rampUpMs) / count : 0;
      if (delay === 0) {
        connection.start();
        return;
      }
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        connection.start();
      }, delay);
      this.timers.add(timer);
    });
  }

  private scheduleTick(delayMs: number): void {
    if (this.readingsStoppedAt !== null) return;
    this.tickTimer = delayMs <= 0 ? setImmediate(() => this.tick()) : setTimeout(() => this.tick(), delayMs);
  }

  private tick(): void {
    this.tickTimer = null;
    if (this.readingsStoppedAt !== null) return;
    const now = performance.now();
    const { durationMs } = this.options;
    if (durationMs !== undefined && now - this.startedAt >= durationMs) {
      void this.stop();
      return;
    }
    let due = this.scheduler.due(now);
    this.accounting.skipped.lag = this.scheduler.lagSkipped;
    let budget = SLOTS_PER_TURN;
    let fullInARow = 0;
    while (due > 0 && budget > 0) {
      const outcome = this.useSlot(this.scheduler.take());
      due -= 1;
      budget -= 1;
      fullInARow = outcome === 'full' ? fullInARow + 1 : 0;
      // Every connection full: stop spinning through slots and let acks drain the windows;
      // if this lasts, the scheduler skips what fell too far behind (counted as lag).
      if (fullInARow >= this.connections.length) break;
    }
    if (this.devicesDone === this.devices.length) {
      void this.stop();
      return;
    }
    const delayMs = fullInARow > 0 ? 1 : due > 0 ? 0 : Math.max(1, Math.min(50, Math.ceil(this.scheduler.msUntilNext(performance.now()))));
    this.scheduleTick(delayMs);
  }

  /** Slot k belongs to device k mod N: each device reads at rate/N, evenly interleaved. */
  private useSlot(slot: number): 'read' | 'idle' | 'full' {
    const index = slot % this.devices.length;
    const device = this.devices[index] as SimulatedDevice;
    const limit = this.options.readingsPerDevice;
    if (limit !== undefined && device.readingsTaken >= limit) return 'idle';
    const connection = this.connections[this.connectionOfDevice[index] ?? 0] as PublishConnection;
    if (!connection.everConnected) {
      this.accounting.skipped.notConnected += 1;
      return 'idle';
    }
    // A reading can release a whole offline backlog at once: it must fit.
    if (!connection.hasRoomFor(1 + device.backlogSize)) {
      this.accounting.skipped.backpressure += 1;
      return 'full';
    }
    const messages = device.read(this.options.clock());
    this.accounting.readings += 1;
    if (limit !== undefined && device.readingsTaken >= limit) {
      this.devicesDone += 1;
      messages.push(...device.flushBacklog());
    }
    if (messages.length === 0) return 'read';
    this.accounting.messagesSent(messages);
    connection.enqueue(messages);
    return 'read';
  }

  private emitProgress(): void {
    const progress = this.progress();
    this.lastProgress = { at: performance.now(), acked: progress.acked };
    this.emit('progress', progress);
  }

  private async shutdown(): Promise<FleetReport> {
    this.readingsStoppedAt = performance.now();
    if (this.tickTimer !== null) {
      clearTimeout(this.tickTimer as NodeJS.Timeout);
      clearImmediate(this.tickTimer as NodeJS.Immediate);
    }
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.releaseReadyWaiters();
    // Devices still offline come back before the end, so their readings are not silently kept.
    this.devices.forEach((device, index) => {
      const backlog = device.flushBacklog();
      if (backlog.length === 0) return;
      this.accounting.messagesSent(backlog);
      this.connections[this.connectionOfDevice[index] ?? 0]?.enqueue(backlog);
    });
    const deadline = performance.now() + this.options.drainTimeoutMs;
    await Promise.all(this.connections.map((connection) => connection.drain(deadline)));
    const closed = await Promise.all(this.connections.map((connection) => connection.close(2000)));
    if (this.progressTimer !== null) clearInterval(this.progressTimer);
    const report = buildFleetReport({
      options: this.options,
      devices: this.devices,
      connections: this.connections.length,
      accounting: this.accounting,
      startedAt: this.startedAt,
      readingsStoppedAt: this.readingsStoppedAt ?? performance.now(),
      closed,
    });
    this.emit('stopped', report);
    this.resolveFinished(report);
    return report;
  }
}

/** Validates the options (ConfigError naming the bad one) and starts connecting and publishing. */
export function startFleet(input: FleetOptionsInput, pathOf?: OptionPath): Fleet {
  return new Fleet(resolveFleetOptions(input, pathOf));
}
