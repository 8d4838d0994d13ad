/**
 * `npm run bench -- streams`: our adapters against the raw client doing the same work in the
 * same run (raw kafkajs, raw AWS SDK calls), for 100-byte and 1 KB records. Target: >= 90 %.
 */
import type { BenchSuite } from '../index';
import { benchKafka } from './kafka';
import { benchKinesis } from './kinesis';

const brokers = (process.env.SLUICE_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const kinesisEndpoint = process.env.SLUICE_KINESIS_ENDPOINT ?? 'http://127.0.0.1:4567';
const records = Number(process.env.SLUICE_BENCH_RECORDS ?? 50_000);

export const streamsBench: BenchSuite = {
  name: 'streams',
  description: `produce/consume through the adapters vs raw clients (${records} records per case)`,
  async run() {
    return {
      kafka: await benchKafka({ brokers, records }),
      kinesis: await benchKinesis({ endpoint: kinesisEndpoint, records: Math.min(records, 20_000) }),
    };
  },
};
