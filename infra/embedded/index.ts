/**
 * Servers `sluice up` can run inside its own process (or as its own child), so the pipeline runs
 * on a machine that has none of Mosquitto, kinesalite or Redis running: an MQTT broker (aedes),
 * a Kinesis API (kinesalite), and Redis (the machine's if it answers, else a private child).
 */
export { startEmbeddedMqttBroker } from './embeddedMqttBroker';
export type { EmbeddedMqttBroker, EmbeddedMqttBrokerOptions } from './embeddedMqttBroker';
export { startEmbeddedKinesis } from './embeddedKinesis';
export type { EmbeddedKinesis, EmbeddedKinesisOptions } from './embeddedKinesis';
export { ensureRedis, DEFAULT_REDIS_URL } from './ensureRedis';
export type { EnsuredRedis, EnsureRedisOptions } from './ensureRedis';
export { loadAedes } from './loadAedes';
