/**
 * The baseline the ingest benchmark compares against: raw mqtt.js publishers -> Mosquitto ->
 * one raw mqtt.js subscriber, no processing at all. Whatever ingest achieves is read as a
 * fraction of this, measured in the same run on the same broker.
 *
 * Flow control: mqtt.js has no in-flight window (FIELD-NOTES), and a broker with default limits
 * (max_queued_messages 1000 per subscriber) silently drops what a slow subscriber cannot take.
 * So publishers keep at most `endToEndWindow` messages between "published" and "received"
 * (plus a per-publisher window of unacknowledged QoS 1 publishes): the figure is what the broker
 * can deliver, not how fast it can be made to drop.
 */
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';

export interface RawPassThroughOptions {
  url: string;
  messages: number;
  qos: 0 | 1;
  publishers: number;
  /** Payload size; the default is about one simulator JSON reading. */
  payloadBytes?: number;
  /**
   * Messages allowed between publish and receipt, over all publishers; keep it well below the
   * broker's per-subscriber queue: with its default max_queued_messages 1000, Mosquitto 2.0.11 here
   * still dropped QoS 1 messages at windows of 500 and 800 with 4 publishers, none at 200. QoS 0
   * lost nothing at 500 or 800, but a window of 200 made it latency-bound (Nagle on small writes:
   * ~15k msg/s instead of 50-75k). Default: 500 for QoS 0, 200 for QoS 1.
   * 0 = no limit: publish as fast as possible and count what the broker dropped.
   */
  endToEndWindow?: number;
  /** Unacknowledged publishes per publisher connection. */
  publisherWindow?: number;
  topicPrefix?: string;
  /** Give up when nothing arrives for this long (messages lost by the broker). */
  idleTimeoutMs?: number;
}

export interface RawPassThroughResult {
  qos: 0 | 1;
  publishers: number;
  messages: number;
  received: number;
  lost: number;
  payloadBytes: number;
  endToEndWindow: number;
  /** From the first publish to the last receipt. */
  durationMs: number;
  msgPerSec: number;
  /** CPU time of this process (publishers and subscriber together) per message received. */
  clientCpuMicrosPerMessage: number;
}

function samplePayload(bytes: number): Buffer {
  const reading = JSON.stringify({
    deviceId: 'dev-0000',
    seq: 0,
    eventTime: Date.UTC(2024, 2, 1),
    deviceType: 'temperature-humidity',
    metrics: { temperature: 21.37, humidity: 48.2 },
    battery: 87.5,
    firmware: 'th-1.2.3',
  });
  return Buffer.from(reading.length >= bytes ? reading.slice(0, bytes) : reading + ' '.repeat(bytes - reading.length));
}

export async function benchRawMosquittoPassThrough(opts: RawPassThroughOptions): Promise<RawPassThroughResult> {
  const payloadBytes = opts.payloadBytes ?? 200;
  const endToEndWindow = opts.endToEndWindow ?? (opts.qos === 0 ? 500 : 200);
  const publisherWindow = opts.publisherWindow ?? 500;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 5000;
  const prefix = opts.topicPrefix ?? `bench-raw-${process.pid}-${Date.now().toString(36)}`;
  const payload = samplePayload(payloadBytes);
  const publisherCount = Math.max(1, Math.min(opts.publishers, opts.messages));
  const quota = Array.from({ length: publisherCount }, (_, i) => Math.floor(opts.messages / publisherCount) + (i < opts.messages % publisherCount ? 1 : 0));
  const published = quota.map(() => 0);
  const inflight = quota.map(() => 0);
  const pumping = quota.map(() => false);
  let publishedTotal = 0;
  let received = 0;
  let lastReceivedAt = 0;
  let finish: () => void = () => undefined;
  const allReceived = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const subscriber = await mqtt.connectAsync(opts.url, { clientId: `${prefix}-sub`, clean: true, reconnectPeriod: 0 });
  const publishers: MqttClient[] = [];
  try {
    for (let i = 0; i < publisherCount; i += 1) {
      publishers.push(await mqtt.connectAsync(opts.url, { clientId: `${prefix}-pub-${i}`, clean: true, reconnectPeriod: 0, queueQoSZero: false }));
    }
    const pump = (index: number): void => {
      const client = publishers[index];
      if (pumping[index] || client === undefined) return;
      pumping[index] = true; // a QoS 0 callback can run inside publish(): do not recurse
      const topic = `${prefix}/bench-p${index}/telemetry`;
      while (
        (endToEndWindow === 0 || publishedTotal - received < endToEndWindow) &&
        (published[index] ?? 0) < (quota[index] ?? 0) &&
        (inflight[index] ?? 0) < publisherWindow
      ) {
        published[index] = (published[index] ?? 0) + 1;
        inflight[index] = (inflight[index] ?? 0) + 1;
        publishedTotal += 1;
        client.publish(topic, payload, { qos: opts.qos }, () => {
          inflight[index] = (inflight[index] ?? 1) - 1;
          pump(index);
        });
      }
      pumping[index] = false;
    };
    const pumpAll = (): void => {
      for (let i = 0; i < publisherCount; i += 1) pump(i);
    };
    subscriber.on('message', () => {
      received += 1;
      lastReceivedAt = performance.now();
      if (received >= opts.messages) finish();
      else pumpAll();
    });
    await subscriber.subscribeAsync(`${prefix}/+/telemetry`, { qos: opts.qos });

    const cpuAtStart = process.cpuUsage();
    const startedAt = performance.now();
    lastReceivedAt = startedAt;
    pumpAll();
    // Messages the broker dropped never arrive: stop when nothing has come for idleTimeoutMs.
    const idle = setInterval(() => {
      if (performance.now() - lastReceivedAt > idleTimeoutMs) finish();
    }, 100);
    await allReceived;
    clearInterval(idle);
    const cpu = process.cpuUsage(cpuAtStart);
    const durationMs = (received > 0 ? lastReceivedAt : performance.now()) - startedAt;
    return {
      qos: opts.qos,
      publishers: publisherCount,
      messages: opts.messages,
      received,
      lost: opts.messages - received,
      payloadBytes,
      endToEndWindow,
      durationMs: Math.round(durationMs),
      msgPerSec: Math.round(received / Math.max(1e-3, durationMs / 1000)),
      clientCpuMicrosPerMessage: Math.round(((cpu.user + cpu.system) / Math.max(1, received)) * 10) / 10,
    };
  } finally {
    await Promise.allSettled([...publishers, subscriber].map((client) => client.endAsync(true)));
  }
}
