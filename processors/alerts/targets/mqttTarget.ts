/**
 * Alert notifications on MQTT, topic `alerts/<deviceId>` (QoS 1, not retained), as JSON
 * `{ id, transition, at, alert }`; subscribers dedupe on `id` (at-least-once). Characters that
 * MQTT gives a meaning in topics (`/`, `+`, `#`) and `%` are percent-encoded in the device id, so
 * every device has exactly one topic level.
 *
 * One connection per broker URL per process, opened on first use and kept (like a Lambda
 * function keeps its clients between invocations).
 */
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { SluiceError, errorMessage } from '../../../core/errors';
import type { Notification } from '../alertRecord';
import type { NotificationTarget } from './notificationTarget';

export function alertTopic(deviceId: string): string {
  const escaped = deviceId.replace(/[%/+#]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  // U+0000 is not allowed in topic names (MQTT 5, 1.5.4)
  return `alerts/${escaped.split(String.fromCharCode(0)).join('%00')}`;
}

export function mqttPayload(notification: Notification): string {
  return JSON.stringify({ id: notification.id, transition: notification.transition, at: notification.at, alert: notification.alert });
}

const clients = new Map<string, MqttClient>();

function clientFor(url: string): MqttClient {
  let client = clients.get(url);
  if (!client) {
    client = mqtt.connect(url, { clientId: `sluice-alerts-${randomBytes(6).toString('hex')}`, reconnectPeriod: 1000, connectTimeout: 5000, clean: true });
    // errors surface as failed publishes; an unhandled 'error' event would crash the worker
    client.on('error', () => undefined);
    clients.set(url, client);
  }
  return client;
}

export async function closeMqttClients(): Promise<void> {
  const open = [...clients.values()];
  clients.clear();
  await Promise.allSettled(open.map((client) => client.endAsync(true)));
}

export class MqttTarget implements NotificationTarget {
  readonly name = 'mqtt';

  constructor(
    private readonly url: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async send(notifications: readonly Notification[]): Promise<void> {
    const client = clientFor(this.url);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SluiceError('TIMEOUT', `MQTT ${this.url}: no PUBACK within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      // QoS 1 publishes queue while the client (re)connects; PUBACKs say the broker has them
      await Promise.race([Promise.all(notifications.map((n) => client.publishAsync(alertTopic(n.alert.deviceId), mqttPayload(n), { qos: 1 }))), timeout]);
    } catch (error) {
      if (error instanceof SluiceError) throw error;
      throw new SluiceError('CONNECTION_FAILED', `MQTT ${this.url}: ${errorMessage(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}
