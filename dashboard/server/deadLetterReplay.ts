/**
 * Replaying one dead letter: the input goes back where it entered, so it takes the same path
 * again (and is dead-lettered again, with a fresh record, if nothing changed):
 * an ingest reject is published again to its MQTT topic, a processor's dead letter and the
 * records of an on-failure record are produced again to the stream they were read from. Only
 * the pipeline's own streams are accepted as targets; the processors count a reading once per
 * (deviceId, seq), so a replay of something already counted changes nothing.
 */
import type { MqttClient } from 'mqtt';
import { connectAsync } from 'mqtt';
import { SluiceError, errorMessage } from '../../core/errors';
import type { StreamClient } from '../../streams/streamClient';
import type { ReplayOutcome } from './dashboardSources';
import type { DecodedDeadLetter } from './deadLetterEntries';

export interface DeadLetterReplayOptions {
  client: StreamClient;
  /** streams replay may write to (the pipeline's own) */
  allowedStreams: ReadonlySet<string>;
  /** undefined: ingest rejects cannot be replayed */
  mqttUrl: string | undefined;
}

export class DeadLetterReplay {
  private mqtt: Promise<MqttClient> | undefined;

  constructor(private readonly options: DeadLetterReplayOptions) {}

  async replay({ entry, plan }: DecodedDeadLetter): Promise<ReplayOutcome> {
    switch (plan.kind) {
      case 'refused':
        throw new SluiceError('OPERATION_INVALID', `${entry.id} cannot be replayed: ${plan.reason}`);
      case 'mqtt': {
        const client = await this.mqttClient();
        await client.publishAsync(plan.topic, plan.payload, { qos: 1 });
        return { id: entry.id, replayedRecords: 1, target: `mqtt ${plan.topic}` };
      }
      case 'stream': {
        if (!this.options.allowedStreams.has(plan.stream)) {
          throw new SluiceError('OPERATION_INVALID', `${entry.id} came from "${plan.stream}", which is not a stream of this pipeline (${[...this.options.allowedStreams].join(', ')})`);
        }
        for (let index = 0; index < plan.records.length; index += 500) await this.options.client.produce(plan.stream, plan.records.slice(index, index + 500));
        return { id: entry.id, replayedRecords: plan.records.length, target: plan.stream };
      }
    }
  }

  private mqttClient(): Promise<MqttClient> {
    const url = this.options.mqttUrl;
    if (url === undefined) return Promise.reject(new SluiceError('OPERATION_INVALID', 'no MQTT broker given (--mqtt-url): ingest rejects cannot be published again'));
    this.mqtt ??= connectAsync(url, { clientId: `sluice-dashboard-${process.pid}-${Date.now().toString(36)}`, reconnectPeriod: 1000, connectTimeout: 10_000 }).catch((error: unknown) => {
      this.mqtt = undefined;
      throw new SluiceError('CONNECTION_FAILED', `MQTT broker ${url} does not answer: ${errorMessage(error)}`, { cause: error });
    });
    return this.mqtt;
  }

  async close(): Promise<void> {
    const client = await this.mqtt?.catch(() => undefined);
    await client?.endAsync().catch(() => undefined);
  }
}
