/**
 * schemas/: Avro schemas, the Confluent-wire-format codec and our schema registry.
 * The Redis store is not re-exported here (import schemas/redisSchemaStore) so that code which only
 * encodes and decodes never loads ioredis.
 */
export * from './records';
export * from './schemaErrors';
export * from './wireFormat';
export type { AvroSchema } from './avroSchema';
export { canonicalSchemaText, createAvroType, schemaFingerprint } from './avroSchema';
export * from './avroCodec';
export * from './schemaRegistry';
export type * from './schemaStore';
export * from './fileSchemaStore';
export * from './sluiceSchemas';
export { explainIncompatibility } from './compatibility';
