/** Where the benchmarks find the servers `sluice infra up` starts (overridable like the tests'). */
export function testServersForBench(): { kafkaBrokers: string; mqttUrl: string; redisUrl: string } {
  return {
    kafkaBrokers: process.env.SLUICE_KAFKA_BROKERS ?? '127.0.0.1:9092',
    mqttUrl: process.env.SLUICE_MQTT_URL ?? 'mqtt://127.0.0.1:1884',
    redisUrl: process.env.SLUICE_REDIS_URL ?? 'redis://127.0.0.1:6379',
  };
}
