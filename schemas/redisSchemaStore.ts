/**
 * Schema registry state in Redis. Kept out of schemas/index.ts on purpose: importing the codec
 * must not load ioredis. Every key comes from schemaRegistryKeys; the one write is a Lua script
 * (lua/putSchemaVersion-5.lua) run by EVALSHA, so id allocation (INCR) and the version append are
 * atomic and refused if the subject changed since the caller checked compatibility.
 */
import { readProjectAsset } from '../core/projectAssets';
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { SluiceError, errorMessage, isSluiceError } from '../core/errors';
import type { PutVersionRequest, PutVersionResult, SchemaStore } from './schemaStore';

export const DEFAULT_SCHEMA_KEY_PREFIX = 'sluice:schemas';

/**
 * All registry keys. The prefix is wrapped in a hash tag so every key lands in one Redis Cluster
 * slot, which a multi-key Lua script requires.
 */
export function schemaRegistryKeys(prefix: string = DEFAULT_SCHEMA_KEY_PREFIX) {
  const base = `{${prefix}}`;
  return {
    nextId: `${base}:next-id`,
    schemasById: `${base}:schemas`,
    idsByFingerprint: `${base}:fingerprints`,
    subjects: `${base}:subjects`,
    subjectVersions: (subject: string) => `${base}:subject:${subject}`,
    /** SCAN pattern matching every key above (for cleanup in tests and tools). */
    everything: `${base}:*`,
  };
}

const PUT_VERSION_SCRIPT = readProjectAsset('schemas/lua/putSchemaVersion-5.lua');
const PUT_VERSION_SHA = createHash('sha1').update(PUT_VERSION_SCRIPT).digest('hex');

export interface RedisSchemaStoreOptions {
  keyPrefix?: string;
  /** Quit the client on close(); true when the store created it (connect). */
  ownsClient?: boolean;
}

export class RedisSchemaStore implements SchemaStore {
  readonly keys: ReturnType<typeof schemaRegistryKeys>;
  private readonly client: Redis;
  private readonly ownsClient: boolean;

  constructor(client: Redis, options: RedisSchemaStoreOptions = {}) {
    this.client = client;
    this.keys = schemaRegistryKeys(options.keyPrefix);
    this.ownsClient = options.ownsClient ?? false;
  }

  /** A store with its own connection, e.g. connect('redis://127.0.0.1:6379'). */
  static connect(url: string, options: Omit<RedisSchemaStoreOptions, 'ownsClient'> = {}): RedisSchemaStore {
    // The same behaviour as the pipeline's other connections (runtime/redis/redisAvailability.ts,
    // which this layer cannot import): through a Redis restart a call waits about a second for the
    // reconnect, then fails as CONNECTION_FAILED (retriable); connection errors never reach the
    // console or crash the process as an 'error' event nobody listens to.
    const client = new Redis(url, { maxRetriesPerRequest: 5, enableOfflineQueue: true, retryStrategy: (attempt) => Math.min(attempt * 50, 500) });
    client.on('error', () => undefined);
    return new RedisSchemaStore(client, { ...options, ownsClient: true });
  }

  async getSchemaText(id: number): Promise<string | undefined> {
    const text = await this.call('read a schema', () => this.client.hget(this.keys.schemasById, String(id)));
    return text ?? undefined;
  }

  async getIdByFingerprint(fingerprint: string): Promise<number | undefined> {
    const id = await this.call('look up a fingerprint', () => this.client.hget(this.keys.idsByFingerprint, fingerprint));
    return id === null ? undefined : Number(id);
  }

  async getSubjectVersions(subject: string): Promise<number[]> {
    const ids = await this.call('read subject versions', () => this.client.lrange(this.keys.subjectVersions(subject), 0, -1));
    return ids.map(Number);
  }

  async listSubjects(): Promise<string[]> {
    return (await this.call('list subjects', () => this.client.smembers(this.keys.subjects))).sort();
  }

  async putVersion(request: PutVersionRequest): Promise<PutVersionResult> {
    const keys = [this.keys.nextId, this.keys.schemasById, this.keys.idsByFingerprint, this.keys.subjects, this.keys.subjectVersions(request.subject)];
    const args = [request.subject, request.fingerprint, request.schemaText, String(request.expectedVersionCount)];
    const reply = await this.call('register a schema version', async () => {
      try {
        return await this.client.evalsha(PUT_VERSION_SHA, keys.length, ...keys, ...args);
      } catch (error) {
        // First use on this server, after a restart (an empty script cache) or a SCRIPT FLUSH:
        // send the script itself, which caches it.
        if (!errorMessage(error).startsWith('NOSCRIPT')) throw error;
        return this.client.eval(PUT_VERSION_SCRIPT, keys.length, ...keys, ...args);
      }
    });
    if (!Array.isArray(reply) || reply.length !== 2) {
      throw new SluiceError('UNKNOWN', `unexpected reply from putSchemaVersion: ${JSON.stringify(reply)}`);
    }
    const [id, version] = reply.map(Number) as [number, number];
    return id < 0 ? { outcome: 'conflict' } : { outcome: 'registered', id, version };
  }

  async close(): Promise<void> {
    if (!this.ownsClient || this.client.status === 'end') return;
    // QUIT needs a live connection; a client that never connected (or lost it) just disconnects.
    if (this.client.status === 'ready') await this.client.quit();
    else this.client.disconnect();
  }

  private async call<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (isSluiceError(error)) throw error;
      // A reply error (WRONGTYPE, a script error) is Redis refusing the command: retrying won't help.
      const refused = typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'ReplyError';
      throw new SluiceError(refused ? 'UNKNOWN' : 'CONNECTION_FAILED', `schema registry: could not ${what} in Redis: ${errorMessage(error)}`, { cause: error });
    }
  }
}
