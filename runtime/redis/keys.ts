/**
 * Every Redis key sluice's runtime uses is built here (like bullmq's one key builder), so the
 * layout can be read, changed and cleaned up in one place.
 *
 * Layout, under a configurable prefix (default `sluice`):
 *
 *   <prefix>:lease-groups                          set: every lease group that has leases (for `sluice checkpoints show`)
 *   <prefix>:{<group>}:lease-shards                set: shard ids of the group's leases
 *   <prefix>:{<group>}:lease:<shardId>             hash: one KCL-style shard lease
 *   <prefix>:{<group>}:workers                     sorted set: worker id -> heartbeat expiry (Redis ms)
 *   <prefix>:{<group>}:windows:<shardId>           sorted set: open tumbling windows of a shard (start -> start)
 *   <prefix>:{<group>}:window:<shardId>:<start>    hash: one tumbling window's state and bounds
 *   <prefix>:{<scope>}:applied                     string: an exactly-once scope's last applied position
 *
 * `{...}` is a Redis Cluster hash tag: everything of one mapping (its lease group: function +
 * stream) hashes to one slot, so a script may touch a lease and a window of that mapping at
 * once (fenced window writes). The exactly-once record is tagged by its scope, and
 * `exactlyOnceHashTag(scope)` lets a caller put the keys its ops touch in the same slot.
 */
import { SluiceError } from '../../core/errors';

export const DEFAULT_KEY_PREFIX = 'sluice';

// A brace inside a name would end the hash tag early and scatter a mapping's keys over slots.
const FORBIDDEN_IN_NAMES = /[{}\s]/;

function checkName(kind: string, name: string): string {
  if (name.length === 0 || FORBIDDEN_IN_NAMES.test(name)) {
    throw new SluiceError('CONFIG_INVALID', `${kind}: must be non-empty without braces or whitespace, got ${JSON.stringify(name)}`);
  }
  return name;
}

export class RedisKeys {
  readonly prefix: string;

  constructor(prefix: string = DEFAULT_KEY_PREFIX) {
    this.prefix = checkName('redis key prefix', prefix);
  }

  /** The hash tag shared by all keys of one lease group / mapping. */
  private group(group: string): string {
    return `${this.prefix}:{${checkName('lease group', group)}}`;
  }

  leaseGroups(): string {
    return `${this.prefix}:lease-groups`;
  }

  leaseShards(group: string): string {
    return `${this.group(group)}:lease-shards`;
  }

  lease(group: string, shardId: string): string {
    return `${this.group(group)}:lease:${checkName('shard id', shardId)}`;
  }

  workers(group: string): string {
    return `${this.group(group)}:workers`;
  }

  windowIndex(mapping: string, shardId: string): string {
    return `${this.group(mapping)}:windows:${checkName('shard id', shardId)}`;
  }

  window(mapping: string, shardId: string, windowStart: number): string {
    return `${this.group(mapping)}:window:${checkName('shard id', shardId)}:${windowStart}`;
  }

  exactlyOnceApplied(scope: string): string {
    return `${this.prefix}:${this.exactlyOnceHashTag(scope)}:applied`;
  }

  /** Put this in the keys an exactly-once batch touches to keep them in the scope's Cluster slot. */
  exactlyOnceHashTag(scope: string): string {
    return `{${checkName('exactly-once scope', scope)}}`;
  }

  /** SCAN pattern matching every key under this prefix (tests and `sluice` cleanup). */
  everything(): string {
    return `${this.prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}:*`;
  }
}

/** The lease group of a mapping: one per (function, stream), as AWS allows one mapping per pair. */
export function leaseGroupName(functionName: string, streamName: string): string {
  return `${checkName('function name', functionName)}@${checkName('stream name', streamName)}`;
}
