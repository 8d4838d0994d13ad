/**
 * A Redis ACL user for the pipeline (runtime, processors, schema registry), so that it does not
 * run as `default`, which can do anything to any key (FLUSHALL, CONFIG SET, KEYS on a big
 * instance, SHUTDOWN).
 *
 * What the user may do, and why:
 * - keys: only sluice's: `<prefix>:*` (leases, checkpoints, windows, exactly-once records,
 *   aggregates) and `{<prefix>:*` (the schema registry's Cluster hash tag `{sluice:schemas}:...`);
 * - commands: reading and writing data (`@read @write`), MULTI/EXEC (`@transaction`), the
 *   connection handshake (`@connection`), PUBLISH/SUBSCRIBE (`@pubsub`), minus everything Redis
 *   marks `@dangerous` (FLUSHALL, FLUSHDB, KEYS, SORT, RESTORE, MIGRATE, CONFIG, CLIENT KILL/LIST,
 *   DEBUG, ...) and `@admin`, and the few data commands that name no key and so escape the key
 *   patterns (FUNCTION FLUSH/DELETE/LOAD act on the whole server; RANDOMKEY names anyone's keys);
 *   then Lua the way the runtime runs it (EVALSHA, EVAL on NOSCRIPT, SCRIPT LOAD/EXISTS; each
 *   command a script calls is checked against these same rules), TIME (scripts read Redis's
 *   clock for lease expiry), and INFO, which is `@dangerous` but read-only and what ioredis
 *   sends as its ready check on every connect;
 * - pub/sub: only channels under `<prefix>:` (the aggregate processor announces applied batches
 *   on `<prefix>:agg:updates`, the dashboard listens).
 *
 * The password is sent as its SHA-256 (`#<hex>`), which is all Redis stores, so the plain
 * password does not appear in ACL LIST, ACL GETUSER or the ACL file. The `default` user is never
 * touched: the machine's Redis is shared.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { SluiceError } from '../core/errors';

export const DEFAULT_REDIS_PIPELINE_USER = 'sluice';

export interface RedisPipelineUserOptions {
  username?: string;
  password: string;
  /** the runtime's key prefix (SLUICE_KEY_PREFIX, default `sluice`) */
  keyPrefix?: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The ACL SETUSER rules (after the user name) for the pipeline user. */
export function redisPipelineAclRules(options: RedisPipelineUserOptions): string[] {
  const prefix = options.keyPrefix ?? 'sluice';
  // a glob character in the prefix would widen the key patterns
  if (!NAME.test(prefix)) throw new SluiceError('CONFIG_INVALID', `redis key prefix: must be letters, digits, . _ -, got ${JSON.stringify(prefix)}`);
  if (options.password === '') throw new SluiceError('CONFIG_INVALID', 'redis pipeline user: the password must not be empty');
  const passwordHash = createHash('sha256').update(options.password, 'utf8').digest('hex');
  return [
    'reset', // from nothing: off, no passwords, no keys, no channels, no commands
    'on',
    `#${passwordHash}`,
    `~${prefix}:*`,
    `~{${prefix}:*`,
    'resetchannels',
    `&${prefix}:*`,
    '-@all',
    '+@read',
    '+@write',
    '+@transaction',
    '+@connection',
    '+@pubsub',
    '-@dangerous',
    '-@admin',
    // @write without a key to restrict them: FUNCTION FLUSH/DELETE/LOAD change the whole server
    '-function',
    // @read without a key: names a random key of anyone's
    '-randomkey',
    '+evalsha',
    '+eval',
    '+script|load',
    '+script|exists',
    '+time',
    '+info',
  ];
}

function checkUsername(username: string): string {
  if (!NAME.test(username)) throw new SluiceError('CONFIG_INVALID', `redis user name: must be letters, digits, . _ -, got ${JSON.stringify(username)}`);
  if (username === 'default') throw new SluiceError('CONFIG_INVALID', 'redis user name: refusing to change the default user');
  return username;
}

/** Creates the user, or resets an existing one to exactly these rules. `admin` needs ACL rights. */
export async function createRedisPipelineUser(admin: Redis, options: RedisPipelineUserOptions): Promise<string> {
  const username = checkUsername(options.username ?? DEFAULT_REDIS_PIPELINE_USER);
  await admin.call('ACL', 'SETUSER', username, ...redisPipelineAclRules(options));
  return username;
}

/** Deletes the user; true when it existed. */
export async function deleteRedisPipelineUser(admin: Redis, username: string = DEFAULT_REDIS_PIPELINE_USER): Promise<boolean> {
  const deleted = await admin.call('ACL', 'DELUSER', checkUsername(username));
  return deleted === 1;
}
