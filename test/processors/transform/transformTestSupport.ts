/**
 * Shared by the transform tests: a temp schema registry with sluice's schemas, readings encoded
 * as ingest encodes them, Lambda events built by the runtime's own event builders, and a produce
 * target that records what it was given (for property tests that run hundreds of invocations;
 * the end-to-end tests use the real streams).
 */
import type { ProcessorEvent } from '../../../processors/shared/streamRecords';
import { buildKafkaEvent } from '../../../runtime/events/kafkaEvent';
import { buildKinesisEvent } from '../../../runtime/events/kinesisEvent';
import { AvroCodec } from '../../../schemas/avroCodec';
import type { TelemetryReading } from '../../../schemas/records';
import { SUBJECTS, registerSluiceSchemas } from '../../../schemas/sluiceSchemas';
import type { ProducedRecord, StreamRecord, StreamRecordInput } from '../../../streams/streamClient';
import { tempRegistry } from '../../schemas/tempRegistry';
import type { TempRegistry } from '../../schemas/tempRegistry';

export interface CodecBed {
  temp: TempRegistry;
  codec: AvroCodec;
  ids: Record<string, number>;
}

export async function codecBed(): Promise<CodecBed> {
  const temp = tempRegistry();
  const ids = await registerSluiceSchemas(temp.registry);
  return { temp, codec: new AvroCodec(temp.registry), ids };
}

export function reading(deviceId: string, seq: number, metrics: Record<string, number> = { temperature: 21.5, humidity: 40 }, extra: Partial<TelemetryReading> = {}): TelemetryReading {
  return { deviceId, deviceType: 'temperature-humidity', eventTime: 1_700_000_000_000 + seq * 1000, seq, metrics, location: null, battery: 90, firmware: 'th-1.0.0', ingestTime: 1_700_000_000_500 + seq * 1000, ...extra };
}

export async function encodeReading(codec: AvroCodec, value: TelemetryReading): Promise<Buffer> {
  return codec.encode(SUBJECTS.telemetryReading, value);
}

/** A stream record as a reader returns it: `value` at `position` of partition `partition`. */
export function streamRecord(stream: string, partition: string, position: number | string, key: string, value: Buffer): StreamRecord {
  return { stream, partition, position: String(position), key, value, headers: {}, timestamp: 1_700_000_000_000, arrivalTime: 1_700_000_000_000 };
}

export function kafkaEvent(records: StreamRecord[]): ProcessorEvent {
  return buildKafkaEvent(records, { eventSource: 'SelfManagedKafka', bootstrapServers: ['127.0.0.1:9092'] });
}

export function kinesisEvent(records: StreamRecord[]): ProcessorEvent {
  return buildKinesisEvent(records, { streamArn: `arn:aws:kinesis:us-east-1:000000000000:stream/${records[0]?.stream ?? 'x'}`, region: 'us-east-1' });
}

/** A produce target keeping what it was given; `failNext` makes the next produce fail before or after storing. */
export class RecordingSink {
  readonly records: StreamRecordInput[] = [];
  failNext: 'before-produce' | 'after-produce' | undefined;

  async produce(_stream: string, records: StreamRecordInput[]): Promise<ProducedRecord[]> {
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure === 'before-produce') throw new Error('simulated crash before the produce');
    this.records.push(...records);
    if (failure === 'after-produce') throw new Error('simulated crash after the produce, before it was acknowledged');
    return records.map((_, index) => ({ partition: '0', position: String(this.records.length - records.length + index) }));
  }
}
