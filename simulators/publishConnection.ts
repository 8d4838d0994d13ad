import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Logger } from '../core/logger';
import { errorMessage } from '../core/errors';
import type { SimulatedMessage } from './simulatedDevice';

export interface PublishConnectionOptions {
  url: string;
  clientId: string;
  cleanSession: boolean;
  qos: 0 | 1;
  /** Last Will: the broker publishes "offline" here (retained) if the connection dies. */
  willTopic: string;
  /** Topics that get a retained "online" on every connect and "offline" on a clean stop. */
  statusTopics: string[];
  inflightWindow: number;
  outboxLimit: number;
  connectTimeoutMs: number;
  reconnectPeriodMs: number;
  keepaliveSeconds: number;
  protocolVersion: 4 | 5;
  /** a secured broker's login; never logged */
  username?: string;
  password?: string;
  /** CA certificate(s) trusted for mqtts:// */
  ca?: string | Buffer;
  logger: Logger;
}

export interface PublishOutcomeListener {
  acked(message: SimulatedMessage, latencyMs: number): void;
  failed(message: SimulatedMessage, reason: string): void;
  connected(connection: PublishConnection): void;
  disconnected(connection: PublishConnection): void;
}

interface InflightPublish {
  message: SimulatedMessage;
  startedAt: number;
}

/**
 * One MQTT connection (a device, or a gateway for many devices) with its own in-flight window:
 * mqtt.js sends whatever it is given, so without a window a fast publisher floods the broker's
 * queues. Messages wait in a bounded outbox; the owner checks `hasRoomFor` before a reading.
 */
export class PublishConnection {
  connected = false;
  everConnected = false;
  connects = 0;
  private client: MqttClient | null = null;
  private outbox: SimulatedMessage[] = [];
  private outboxHead = 0;
  private readonly inflight = new Map<number, InflightPublish>();
  private nextPublishId = 0;
  private pumping = false;
  private closing = false;
  private errorLogged = false;

  constructor(
    readonly options: PublishConnectionOptions,
    private readonly listener: PublishOutcomeListener,
  ) {}

  get pending(): number {
    return this.outbox.length - this.outboxHead + this.inflight.size;
  }

  hasRoomFor(count: number): boolean {
    return this.outbox.length - this.outboxHead + count <= this.options.outboxLimit;
  }

  start(): void {
    const { options } = this;
    const clientOptions: IClientOptions = {
      clientId: options.clientId,
      clean: options.cleanSession,
      protocolVersion: options.protocolVersion,
      connectTimeout: options.connectTimeoutMs,
      reconnectPeriod: options.reconnectPeriodMs,
      keepalive: options.keepaliveSeconds,
      // QoS 0 is fire-and-forget: buffering it while offline would hide the loss a real device has.
      queueQoSZero: false,
      will: { topic: options.willTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
    };
    if (options.username !== undefined) clientOptions.username = options.username;
    if (options.password !== undefined) clientOptions.password = options.password;
    if (options.ca !== undefined) clientOptions.ca = options.ca;
    if (options.protocolVersion === 5 && !options.cleanSession) {
      // MQTT 5 ends a session at disconnect unless it is given an expiry.
      clientOptions.properties = { sessionExpiryInterval: 3600 };
    }
    const client = mqtt.connect(options.url, clientOptions);
    this.client = client;
    client.on('connect', () => {
      this.connected = true;
      this.everConnected = true;
      this.connects += 1;
      this.errorLogged = false;
      for (const topic of options.statusTopics) {
        client.publish(topic, 'online', { qos: 1, retain: true }, (error) => {
          if (error && !this.closing) options.logger.warn({ topic, err: errorMessage(error) }, 'status publish failed');
        });
      }
      this.listener.connected(this);
      this.pump();
    });
    client.on('close', () => {
      if (!this.connected) return;
      this.connected = false;
      this.listener.disconnected(this);
    });
    client.on('error', (error) => {
      // mqtt.js retries every reconnectPeriod: one line per outage, not one per attempt per device.
      if (this.errorLogged) return;
      this.errorLogged = true;
      options.logger.warn({ clientId: options.clientId, err: errorMessage(error) }, 'mqtt connection error (retrying)');
    });
  }

  /** Queues messages; QoS 0 messages of a disconnected device are lost, as they would be. */
  enqueue(messages: readonly SimulatedMessage[]): void {
    if (!this.connected && this.options.qos === 0) {
      for (const message of messages) this.listener.failed(message, 'not connected');
      return;
    }
    for (const message of messages) this.outbox.push(message);
    this.pump();
  }

  /** Cuts the TCP connection without DISCONNECT (a power loss): the broker sends the Last Will. */
  destroyAbruptly(): void {
    this.client?.stream.destroy();
  }

  /** Waits until nothing is queued or in flight, or the deadline passes. */
  async drain(deadline: number): Promise<void> {
    while (this.pending > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /**
   * Ends the connection: a retained "offline" status first (a clean stop sends no Last Will),
   * then DISCONNECT. Returns what was still queued or unacknowledged; their late callbacks are ignored.
   */
  async close(timeoutMs: number): Promise<{ unacked: number; unsent: number }> {
    this.closing = true;
    const result = { unacked: this.inflight.size, unsent: this.outbox.length - this.outboxHead };
    this.inflight.clear();
    this.outbox = [];
    this.outboxHead = 0;
    const client = this.client;
    if (client === null) return result;
    if (this.connected) {
      const statuses = this.options.statusTopics.map((topic) => client.publishAsync(topic, 'offline', { qos: 1, retain: true }));
      await withTimeout(Promise.allSettled(statuses), timeoutMs);
      await withTimeout(client.endAsync(false), timeoutMs).catch(() => undefined);
    }
    await client.endAsync(true).catch(() => undefined);
    this.connected = false;
    return result;
  }

  private pump(): void {
    // mqtt.js may call a QoS 0 callback synchronously inside publish(): the flag keeps that from recursing.
    if (this.pumping || !this.connected || this.client === null) return;
    this.pumping = true;
    const client = this.client;
    try {
      while (this.inflight.size < this.options.inflightWindow && this.outboxHead < this.outbox.length && this.connected) {
        const message = this.outbox[this.outboxHead] as SimulatedMessage;
        this.outboxHead += 1;
        const id = this.nextPublishId;
        this.nextPublishId += 1;
        this.inflight.set(id, { message, startedAt: performance.now() });
        client.publish(message.topic, message.payload, { qos: this.options.qos }, (error) => this.settle(id, error));
      }
      if (this.outboxHead > 4096 && this.outboxHead * 2 > this.outbox.length) {
        this.outbox = this.outbox.slice(this.outboxHead);
        this.outboxHead = 0;
      }
    } finally {
      this.pumping = false;
    }
  }

  private settle(id: number, error: Error | undefined): void {
    const publish = this.inflight.get(id);
    if (publish === undefined) return; // settled after close(): already counted as unacked
    this.inflight.delete(id);
    if (error) this.listener.failed(publish.message, errorMessage(error));
    else this.listener.acked(publish.message, performance.now() - publish.startedAt);
    if (!this.pumping) this.pump();
  }
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
