/**
 * MQTT front of the ingest function: subscribes to device telemetry (a shared subscription
 * `$share/<group>/devices/+/telemetry` on Mosquitto with MQTT 5, so several ingest instances share
 * the load; a plain subscription for brokers without them, e.g. aedes over MQTT 3.1.1) and feeds
 * the pipeline. A QoS 1 message is PUBACKed only once the pipeline says its record (or its dead
 * letter) is durable; with a persistent session (clean: false, fixed clientId) the broker redelivers
 * whatever was not acked when ingest died, so a crash loses nothing (it may duplicate).
 *
 * Why not mqtt.js's customHandleAcks: mqtt.js handles incoming packets one at a time, and both
 * customHandleAcks and handleMessage hold that loop until their callback runs. Waiting there for
 * durability would mean one produce per message. So handleMessage hands the message to the pipeline
 * and at once ends mqtt.js's handling with an error, which (mqtt 5.16 handlers/publish.js) skips
 * the automatic PUBACK; the PUBACK is sent later, when the pipeline acks. handleMessage holds the
 * loop only while the pipeline is full: mqtt.js stops reading the socket, TCP pushes back on the
 * broker, and memory stays bounded.
 */
import mqtt from 'mqtt';
import type { IPublishPacket, MqttClient } from 'mqtt';
import { SluiceError, errorMessage } from '../core/errors';
import type { Logger } from '../core/logger';
import { silentLogger } from '../core/logger';
import type { IngestPipeline } from './ingestPipeline';

export const DEFAULT_TELEMETRY_FILTER = 'devices/+/telemetry';

export interface MqttIngestOptions {
  mqttUrl: string;
  pipeline: IngestPipeline;
  /** Shared-subscription group (`$share/<group>/<filter>`); null subscribes to the filter itself. Default 'ingest'. */
  sharedGroup?: string | null;
  topicFilter?: string;
  /** Fixed, so the broker keeps this instance's session (and its unacked messages) across restarts. */
  clientId: string;
  /** 5 for shared subscriptions on Mosquitto; 4 (3.1.1) for aedes. Default 5. */
  protocolVersion?: 4 | 5;
  /** MQTT 5: how long the broker keeps the session after a disconnect. Default 1 day. */
  sessionExpirySeconds?: number;
  reconnectPeriodMs?: number;
  connectTimeoutMs?: number;
  /** A secured broker's login (`sluice devices provision` makes an ingest user); never logged. */
  username?: string;
  password?: string;
  /** CA certificate(s), PEM, trusted for mqtts:// (a provisioning's ca.crt). */
  ca?: string | Buffer;
  logger?: Logger;
}

/** mqtt.js sends PUBACK itself only from its packet loop; this is its (private, version-pinned) sender. */
interface PacketSender {
  _sendPacket(packet: { cmd: 'puback'; messageId: number; reasonCode?: number }, callback?: (error?: Error) => void): void;
}

function noLog(): void {}

/** Ends mqtt.js's own handling of a message without its automatic PUBACK (see the file comment). */
const PUBACK_DEFERRED = new Error('puback deferred until the record is durable');

export class MqttIngest {
  readonly client: MqttClient;
  readonly subscription: string;
  private readonly pipeline: IngestPipeline;
  private readonly logger: Logger;
  /** Bumped on every (re)connect: a PUBACK belongs to the connection that received the message. */
  private connection = 0;
  private stopping = false;
  private acked = 0;
  private redeliveredAfterReconnect = 0;

  private constructor(client: MqttClient, options: MqttIngestOptions) {
    this.client = client;
    this.pipeline = options.pipeline;
    this.logger = options.logger ?? silentLogger;
    const filter = options.topicFilter ?? DEFAULT_TELEMETRY_FILTER;
    const group = options.sharedGroup === undefined ? 'ingest' : options.sharedGroup;
    this.subscription = group === null ? filter : `$share/${group}/${filter}`;
    client.on('connect', () => {
      this.connection += 1;
      // Mosquitto 2.0.11 restores a persistent session's shared subscription from its persistence
      // file in name only: the session says it is subscribed, nothing is delivered, and a plain
      // SUBSCRIBE does not repair it (measured: test/ingest/brokerRestart.test.ts). mqtt.js does not
      // subscribe again when the broker says the session is present. So after every reconnect a
      // shared subscription is dropped and made again. (A plain subscription is restored whole, and
      // is left alone: unsubscribing would drop what arrives in between.)
      if (this.connection > 1 && !this.stopping && this.subscription.startsWith('$share/')) {
        client.unsubscribeAsync(this.subscription)
          .then(() => client.subscribeAsync(this.subscription, { qos: 1 }))
          .catch((error: unknown) => this.logger.warn({ err: errorMessage(error) }, 'mqtt re-subscribe after reconnect failed'));
      }
    });
    client.on('error', (error) => this.logger.warn({ err: error }, 'mqtt client error'));
    client.on('offline', () => this.logger.warn('mqtt connection lost; unacked messages will be redelivered'));
    client.handleMessage = (packet, callback) => this.handleMessage(packet, callback);
  }

  /** Connects, subscribes with QoS 1 and starts feeding the pipeline. */
  static async start(options: MqttIngestOptions): Promise<MqttIngest> {
    const protocolVersion = options.protocolVersion ?? 5;
    const client = mqtt.connect(options.mqttUrl, {
      clientId: options.clientId,
      clean: false,
      protocolVersion,
      reconnectPeriod: options.reconnectPeriodMs ?? 1000,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      queueQoSZero: false,
      // mqtt.js logs through the debug package ~10 times per message; even disabled, those calls
      // cost ~3% of ingest's CPU (profiled). Its own logging is off here, so skip them.
      log: noLog,
      // Without a session expiry an MQTT 5 session ends at disconnect, and with it the unacked messages.
      properties: protocolVersion === 5 ? { sessionExpiryInterval: options.sessionExpirySeconds ?? 86_400 } : undefined,
      manualConnect: true,
      ...(options.username === undefined ? {} : { username: options.username }),
      ...(options.password === undefined ? {} : { password: options.password }),
      ...(options.ca === undefined ? {} : { ca: options.ca }),
    });
    const ingest = new MqttIngest(client, options);
    client.connect();
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (error: Error): void => reject(error);
        client.once('connect', () => {
          client.off('error', onError);
          resolve();
        });
        client.once('error', onError);
      });
      const granted = await client.subscribeAsync(ingest.subscription, { qos: 1 });
      const refused = granted.find((grant) => grant.qos !== 1);
      if (refused) throw new Error(`broker granted QoS ${refused.qos} for ${refused.topic}`);
    } catch (error) {
      client.end(true);
      throw new SluiceError('CONNECTION_FAILED', `mqtt ingest: cannot subscribe to ${ingest.subscription} on ${options.mqttUrl}: ${errorMessage(error)}`, { cause: error });
    }
    return ingest;
  }

  get stats(): { acked: number; staleAcks: number; inFlight: number } {
    return { acked: this.acked, staleAcks: this.redeliveredAfterReconnect, inFlight: this.pipeline.inFlightMessages };
  }

  /** Graceful stop: take nothing more, let every message taken in become durable and be acked, then disconnect (session kept). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.pipeline.drain();
    await new Promise<void>((resolve) => {
      const forced = setTimeout(() => this.client.end(true, () => resolve()), 5000);
      this.client.end(false, () => {
        clearTimeout(forced);
        resolve();
      });
    });
  }

  private handleMessage(packet: IPublishPacket, callback: (error?: Error) => void): void {
    if (this.stopping) return; // hold the loop: this message stays unacked and is redelivered to the next session
    const connection = this.connection;
    const { messageId, qos } = packet;
    this.pipeline.submit({ topic: packet.topic, payload: typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload }, (error) => {
      if (error) {
        // Not stored: no PUBACK. Dropping the connection makes the broker redeliver it at reconnect.
        this.logger.error({ err: error, topic: packet.topic }, 'message not stored; reconnecting for redelivery');
        this.client.stream.destroy();
        return;
      }
      if (qos === 0 || messageId === undefined) return;
      if (connection !== this.connection || !this.client.connected) {
        // The broker redelivers it on the new connection (a duplicate downstream, never a loss).
        this.redeliveredAfterReconnect += 1;
        return;
      }
      this.acked += 1;
      (this.client as unknown as PacketSender)._sendPacket({ cmd: 'puback', messageId, reasonCode: 0 });
    });
    if (this.pipeline.hasCapacity()) callback(PUBACK_DEFERRED);
    else void this.pipeline.whenReady().then(() => callback(PUBACK_DEFERRED));
  }
}
