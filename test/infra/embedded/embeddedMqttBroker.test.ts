import mqtt from 'mqtt';
import { isSluiceError } from '../../../core/errors';
import { startEmbeddedMqttBroker } from '../../../infra/embedded/embeddedMqttBroker';
import type { EmbeddedMqttBroker } from '../../../infra/embedded/embeddedMqttBroker';
import { probeMqtt } from '../../../infra/probes';
import { uniqueName } from '../../support/servers';
import { holdPort } from '../infraTestSupport';

describe('startEmbeddedMqttBroker (aedes in this process)', () => {
  let broker: EmbeddedMqttBroker | undefined;

  afterEach(async () => {
    await broker?.close();
    broker = undefined;
  });

  it('carries QoS 0 and QoS 1 messages from a publisher to a subscriber over real MQTT 3.1.1 connections', async () => {
    broker = await startEmbeddedMqttBroker();
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
    const topic = `${uniqueName('embedded')}/dev-1/telemetry`;
    const subscriber = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    const publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    try {
      const received: Array<{ payload: string; qos: number }> = [];
      const allReceived = new Promise<void>((resolve) => {
        subscriber.on('message', (_topic, payload, packet) => {
          received.push({ payload: payload.toString(), qos: packet.qos });
          if (received.length === 3) resolve();
        });
      });
      const granted = await subscriber.subscribeAsync(topic.replace('dev-1', '+'), { qos: 1 });
      expect(granted.map((grant) => grant.qos)).toEqual([1]);
      await publisher.publishAsync(topic, 'zero', { qos: 0 });
      // QoS 1: publishAsync resolves on the broker's PUBACK
      await publisher.publishAsync(topic, 'one', { qos: 1 });
      await publisher.publishAsync(topic, 'two', { qos: 1 });
      await allReceived;
      expect(received).toEqual([
        { payload: 'zero', qos: 0 },
        { payload: 'one', qos: 1 },
        { payload: 'two', qos: 1 },
      ]);
    } finally {
      await Promise.all([subscriber.endAsync(true), publisher.endAsync(true)]);
    }
  });

  it('keeps QoS 1 messages for a persistent session that was away, and delivers them when it comes back', async () => {
    broker = await startEmbeddedMqttBroker();
    const topic = `${uniqueName('embedded')}/dev-2/telemetry`;
    const clientId = uniqueName('persistent');
    const first = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId, clean: false, reconnectPeriod: 0 });
    await first.subscribeAsync(topic, { qos: 1 });
    await first.endAsync();
    const publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    await publisher.publishAsync(topic, 'while away', { qos: 1 });
    await publisher.endAsync();

    const back = mqtt.connect(broker.url, { protocolVersion: 4, clientId, clean: false, reconnectPeriod: 0 });
    try {
      const payload = await new Promise<string>((resolve) => back.once('message', (_topic, message) => resolve(message.toString())));
      expect(payload).toBe('while away');
    } finally {
      await back.endAsync(true);
    }
  });

  it('stops answering after close(), and close() twice is fine', async () => {
    broker = await startEmbeddedMqttBroker();
    const client = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    const closedByBroker = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await broker.close();
    await closedByBroker; // the open connection was dropped
    await client.endAsync(true);
    await broker.close();
    expect((await probeMqtt(broker.url, 1000)).ok).toBe(false);
  });

  it('refuses a port that is already taken with PORT_IN_USE naming the port', async () => {
    const holder = await holdPort();
    try {
      const error: unknown = await startEmbeddedMqttBroker({ port: holder.port }).then(
        async (started) => {
          await started.close();
          return undefined;
        },
        (reason: unknown) => reason,
      );
      expect(isSluiceError(error, 'PORT_IN_USE')).toBe(true);
      expect((error as Error).message).toContain(`127.0.0.1:${holder.port}`);
    } finally {
      await holder.close();
    }
  });
});
