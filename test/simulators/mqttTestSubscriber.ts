import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';

export interface ReceivedMessage {
  topic: string;
  payload: Buffer;
  retain: boolean;
}

/**
 * A real mqtt.js subscriber on `${prefix}/#` that records everything, so tests check what the
 * broker actually delivered. `close()` also clears the retained statuses the fleet left behind
 * (the machine's Mosquitto persists them across runs).
 */
export class MqttTestSubscriber {
  readonly messages: ReceivedMessage[] = [];
  private readonly retainedTopics = new Set<string>();

  private constructor(private readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload, retain: packet.retain });
      if (topic.endsWith('/status')) this.retainedTopics.add(topic);
    });
  }

  static async connect(url: string, prefix: string): Promise<MqttTestSubscriber> {
    const client = await mqtt.connectAsync(url, { clientId: `test-sub-${prefix}`, clean: true, reconnectPeriod: 0 });
    const subscriber = new MqttTestSubscriber(client);
    await client.subscribeAsync(`${prefix}/#`, { qos: 1 });
    return subscriber;
  }

  on(topicSuffix: string): ReceivedMessage[] {
    return this.messages.filter((message) => message.topic.endsWith(topicSuffix));
  }

  /** Polls until the condition holds; returns whether it did before the timeout (the test asserts). */
  async waitFor(condition: () => boolean, timeoutMs = 15_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
  }

  async close(): Promise<void> {
    for (const topic of this.retainedTopics) await this.client.publishAsync(topic, '', { qos: 1, retain: true });
    await this.client.endAsync();
  }
}

/** deviceId and seq from the raw bytes: they lead every simulator payload, even a truncated one. */
export function identityOf(payload: Buffer): { deviceId: string; seq: number } | undefined {
  const match = /^\{"deviceId":"([^"]+)","seq":(\d+),/.exec(payload.toString('utf8', 0, 200));
  return match ? { deviceId: match[1] ?? '', seq: Number(match[2]) } : undefined;
}
