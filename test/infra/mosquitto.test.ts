import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { downMosquitto, mosquittoConfigForPort, upMosquitto } from '../../infra/mosquitto/mosquittoServer';
import { resolveInfraOptions } from '../../infra/options';
import { isProcessAlive } from '../../infra/processControl';
import { uniqueName } from '../support/servers';
import { findFreePort, removeRunFiles } from './infraTestSupport';

describe("the project's Mosquitto", () => {
  it('moves only the listener when run on another port', () => {
    const config = mosquittoConfigForPort(25884);
    expect(config).toMatch(/^listener 25884 127\.0\.0\.1$/m);
    expect(config).not.toMatch(/^listener 1884/m);
    expect(config).toMatch(/^max_queued_messages 1000000$/m);
    expect(config).toMatch(/^max_inflight_messages 1000$/m);
  });

  // Debian's defaults (max_queued_messages 1000) deliver only ~1000 of these: the rest are
  // dropped without an error to anyone. Our config must deliver them all.
  it('delivers every QoS 1 message queued for an offline subscriber, well past Debian\'s limit of 1000', async () => {
    const options = resolveInfraOptions({ mosquittoPort: await findFreePort(), services: ['mosquitto'] });
    const url = `mqtt://127.0.0.1:${options.mosquittoPort}`;
    const topic = uniqueName('infra/queue');
    const subscriberId = uniqueName('infra-subscriber');
    const total = 3000;
    const clients: MqttClient[] = [];
    try {
      const started = await upMosquitto(options);
      expect(started.action).toBe('started');

      // a persistent session, then offline: the broker must queue for it
      const subscriber = await mqtt.connectAsync(url, { clientId: subscriberId, clean: false, reconnectPeriod: 0 });
      await subscriber.subscribeAsync(topic, { qos: 1 });
      await subscriber.endAsync();

      const publisher = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
      clients.push(publisher);
      for (let start = 0; start < total; start += 100) {
        // a window of 100 unacknowledged messages, as the simulators keep
        await Promise.all(Array.from({ length: Math.min(100, total - start) }, (_, index) => publisher.publishAsync(topic, String(start + index), { qos: 1 })));
      }

      const received = new Set<string>();
      const resumed = mqtt.connect(url, { clientId: subscriberId, clean: false, reconnectPeriod: 0 });
      clients.push(resumed);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`received ${received.size} of ${total}`)), 30_000);
        resumed.on('message', (_topic, payload) => {
          received.add(payload.toString());
          if (received.size === total) {
            clearTimeout(timer);
            resolve();
          }
        });
        resumed.on('error', reject);
      });
      expect(received.size).toBe(total);
      expect(received.has('0') && received.has(String(total - 1))).toBe(true);
    } finally {
      await Promise.all(clients.map((client) => client.endAsync().catch(() => undefined)));
      const down = await downMosquitto(options);
      if (down.action === 'stopped') expect(isProcessAlive(Number(down.detail.replace('pid ', '')))).toBe(false);
      removeRunFiles(`mosquitto-${options.mosquittoPort}`);
    }
  });
});
