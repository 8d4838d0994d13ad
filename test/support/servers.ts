/**
 * Where the test servers are. CI starts them (`sluice infra up`); a test that finds one
 * missing fails (globalSetup checks them all first), it never skips.
 */
export const testServers = {
  kafkaBrokers: (process.env.SLUICE_KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  kinesisEndpoint: process.env.SLUICE_KINESIS_ENDPOINT ?? 'http://127.0.0.1:4567',
  redisUrl: process.env.SLUICE_REDIS_URL ?? 'redis://127.0.0.1:6379',
  mqttUrl: process.env.SLUICE_MQTT_URL ?? 'mqtt://127.0.0.1:1884',
  systemMqttUrl: process.env.SLUICE_SYSTEM_MQTT_URL ?? 'mqtt://127.0.0.1:1883',
  postgresUrl: process.env.SLUICE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
};

let counter = 0;

/** A stream/topic/key name no other test (or earlier run) uses. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}
