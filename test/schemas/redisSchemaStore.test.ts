/** Runs against the real Redis (SLUICE_REDIS_URL, default 127.0.0.1:6379) with a unique key prefix per test. */
import { Redis } from 'ioredis';
import { AvroCodec } from '../../schemas/avroCodec';
import { RedisSchemaStore, schemaRegistryKeys } from '../../schemas/redisSchemaStore';
import { SchemaRegistry } from '../../schemas/schemaRegistry';
import { SUBJECTS, loadSluiceSchema, registerSluiceSchemas } from '../../schemas/sluiceSchemas';
import type { Alert } from '../../schemas/records';
import { testServers, uniqueName } from '../support/servers';
import { describeSchemaStoreContract } from './schemaStoreContract';

async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

async function keysMatching(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found.sort();
}

describeSchemaStoreContract('RedisSchemaStore', async () => {
  const keyPrefix = uniqueName('sluice-test-schemas');
  const opened: RedisSchemaStore[] = [];
  const open = () => {
    const store = RedisSchemaStore.connect(testServers.redisUrl, { keyPrefix });
    opened.push(store);
    return store;
  };
  return {
    store: open(),
    twin: open,
    async cleanup() {
      const admin = new Redis(testServers.redisUrl);
      await deleteKeys(admin, schemaRegistryKeys(keyPrefix).everything);
      await admin.quit();
      await Promise.all(opened.map((store) => store.close()));
    },
  };
});

describe('RedisSchemaStore', () => {
  let redis: Redis;
  let keyPrefix: string;

  beforeEach(() => {
    redis = new Redis(testServers.redisUrl);
    keyPrefix = uniqueName('sluice-test-schemas');
  });

  afterEach(async () => {
    await deleteKeys(redis, schemaRegistryKeys(keyPrefix).everything);
    await redis.quit();
  });

  it('keeps all its state under its prefix, in the keys schemaRegistryKeys names', async () => {
    const store = new RedisSchemaStore(redis, { keyPrefix });
    await store.putVersion({ subject: 'dev.sluice.X', fingerprint: 'f', schemaText: '"string"', expectedVersionCount: 0 });
    const keys = schemaRegistryKeys(keyPrefix);
    expect(await keysMatching(redis, keys.everything)).toEqual([keys.nextId, keys.schemasById, keys.idsByFingerprint, keys.subjectVersions('dev.sluice.X'), keys.subjects].sort());
    await store.close();
    expect(redis.status).toBe('ready'); // a client it was given is not its to quit
  });

  it('backs a registry: v1 data reads with a v2 reader that adds a field with a default', async () => {
    const registry = new SchemaRegistry(new RedisSchemaStore(redis, { keyPrefix }));
    const ids = await registerSluiceSchemas(registry);
    const alert: Alert = { alertId: 'a', deviceId: 'd', ruleId: 'r', severity: 'info', state: 'cleared', value: 1, threshold: 2, message: 'm', raisedAt: 3, updatedAt: 4 };
    const v1Bytes = await new AvroCodec(registry).encode(SUBJECTS.alert, alert);

    const v1 = loadSluiceSchema(SUBJECTS.alert) as { fields: unknown[] };
    const v2 = await registry.registerVersion(SUBJECTS.alert, { ...v1, fields: [...v1.fields, { name: 'ackedBy', type: ['null', 'string'], default: null }] });
    expect(v2).toMatchObject({ version: 2, id: Math.max(...Object.values(ids)) + 1 });

    // A second registry on the same Redis (another process) sees the same ids and versions.
    const other = new SchemaRegistry(new RedisSchemaStore(redis, { keyPrefix }));
    await expect(registerSluiceSchemas(other)).resolves.toEqual(ids);
    const latest = await other.getLatest(SUBJECTS.alert);
    await expect(new AvroCodec(other).decode(v1Bytes, latest?.type)).resolves.toEqual({ ...alert, ackedBy: null });

    const incompatible = { ...v1, fields: [...v1.fields, { name: 'site', type: 'string' }] };
    await expect(other.register(SUBJECTS.alert, incompatible)).rejects.toMatchObject({ code: 'SCHEMA_INCOMPATIBLE', subject: SUBJECTS.alert });
    await expect(registry.listVersions(SUBJECTS.alert)).resolves.toEqual([1, 2]);
  });

  it('reports an unreachable Redis as a retriable CONNECTION_FAILED, which the codec passes through', async () => {
    const dead = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    const store = new RedisSchemaStore(dead, { keyPrefix, ownsClient: true });
    const codec = new AvroCodec(new SchemaRegistry(store));
    const message = Buffer.from([0, 0, 0, 0, 1, 0]);
    await expect(codec.decode(message)).rejects.toMatchObject({ name: 'SluiceError', code: 'CONNECTION_FAILED', retriable: true });
    await expect(store.close()).resolves.toBeUndefined(); // closing a client that never connected does not throw
  });
});
