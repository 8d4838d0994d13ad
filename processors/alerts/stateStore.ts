/**
 * Reads entity states and commits a plan of writes in one Lua script (scripts/alertsCommit-var.lua):
 * the exactly-once position guard of runtime/exactlyOnce, a version check on every state the
 * plan replaces (optimistic concurrency with the timer, operators and zombie workers), then
 * the state, alert records, indexes and outbox entries together. Callers read, evaluate and
 * commit in a loop until the commit is not a conflict.
 */
import { readProjectAsset } from '../../core/projectAssets';
import { SluiceError } from '../../core/errors';
import { isCanonicalPosition } from '../../runtime/redis/positionOrder';
import type { RedisConnection } from '../../runtime/redis/scriptLoader';
import type { DeviceInfo, EntityState } from './entityState';
import { emptyEntityState } from './entityState';

export interface StoredEntity {
  key: string;
  /** '0' when the entity has no state yet */
  version: string;
  state: EntityState;
}

const COMMAND = 'sluiceAlertsCommit';

let scriptText: string | undefined;

/** The script with the runtime's position comparison included (the same Lua the exactly-once guard uses). */
function script(): string {
  scriptText ??= readProjectAsset('processors/alerts/scripts/alertsCommit-var.lua').replace(/^-- @include "([A-Za-z]+)"[ \t]*$/gm, (_line, name: string) => readProjectAsset(`runtime/redis/scripts/includes/${name}.lua`));
  return scriptText;
}

const defined = new WeakSet<RedisConnection>();

type CommitMethod = (...args: (string | number)[]) => Promise<[number, string?]>;

function commitMethod(redis: RedisConnection): CommitMethod {
  if (!defined.has(redis)) {
    // EVALSHA, and EVAL when Redis answers NOSCRIPT (after a restart or SCRIPT FLUSH)
    redis.defineCommand(COMMAND, { lua: script() });
    defined.add(redis);
  }
  return (redis as unknown as Record<string, CommitMethod>)[COMMAND] as CommitMethod;
}

export function parseEntityState(json: string | null | undefined, key: string): EntityState {
  if (!json) return emptyEntityState();
  try {
    const state = JSON.parse(json) as EntityState;
    if (typeof state !== 'object' || state === null || typeof state.rules !== 'object') throw new Error('no rules object');
    return state;
  } catch (error) {
    // our own writes only: a broken document is a bug or a hand edit, and evaluating on an empty state would re-open every alert
    throw new SluiceError('UNKNOWN', `alert state ${key} is not valid JSON (${error instanceof Error ? error.message : String(error)}); delete the key to reset it`);
  }
}

/** The states (and versions) of these keys, in one round trip. */
export async function readStates(redis: RedisConnection, keys: readonly string[]): Promise<StoredEntity[]> {
  if (keys.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.hmget(key, 'v', 's');
  const replies = (await pipeline.exec()) ?? [];
  return keys.map((key, index) => {
    const [error, reply] = replies[index] ?? [new Error('no reply'), null];
    if (error) throw error;
    const [version, json] = reply as [string | null, string | null];
    return { key, version: version ?? '0', state: parseEntityState(json, key) };
  });
}

/** The device info stored beside these reading states (type, site, thresholds), undefined where none. */
export async function readDeviceInfos(redis: RedisConnection, keys: readonly string[]): Promise<Array<DeviceInfo | undefined>> {
  if (keys.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.hget(key, 'd');
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([error, reply]) => {
    if (error) throw error;
    return typeof reply === 'string' && reply !== '' ? (JSON.parse(reply) as DeviceInfo) : undefined;
  });
}

/** an argument passed as its own ARGV entry (large documents) */
type Ref = { a: number };
type Op = [name: string, keyIndex: number, ...args: Array<string | Ref>];

/** The writes of one commit, in order. */
export class CommitPlan {
  private readonly keys: string[];
  private readonly keyIndex = new Map<string, number>();
  private readonly cas: Array<[number, string]> = [];
  private readonly ops: Op[] = [];
  /** ARGV[3..]: the large values ops refer to */
  private readonly values: string[] = [];

  constructor(appliedKey: string | undefined) {
    // KEYS[1] is the position record; a placeholder key when the commit has no position
    this.keys = [appliedKey ?? 'alerts-commit-no-position'];
  }

  private index(key: string): number {
    let index = this.keyIndex.get(key);
    if (index === undefined) {
      this.keys.push(key);
      index = this.keys.length;
      this.keyIndex.set(key, index);
    }
    return index;
  }

  /** A large value as its own script argument (ARGV[3] is the first). */
  private ref(value: string): Ref {
    this.values.push(value);
    return { a: this.values.length + 2 };
  }

  get size(): number {
    return this.ops.length;
  }

  /** Makes the commit fail if the entity changed since it was read at `version`, without writing it. */
  expect(entity: StoredEntity): void {
    this.cas.push([this.index(entity.key), entity.version]);
  }

  /** Replaces an entity state read at `version` (the commit fails if it changed). */
  state(entity: StoredEntity, state: EntityState, device: DeviceInfo | undefined): void {
    const index = this.index(entity.key);
    this.cas.push([index, entity.version]);
    this.ops.push(['state', index, String(Number(entity.version) + 1), this.ref(JSON.stringify(state)), device ? JSON.stringify(device) : '']);
  }

  set(key: string, value: string, expireMs?: number): void {
    this.ops.push(['set', this.index(key), this.ref(value), expireMs === undefined ? '' : String(Math.max(1, Math.round(expireMs)))]);
  }

  zadd(key: string, score: number, member: string): void {
    this.ops.push(['zadd', this.index(key), String(score), member]);
  }

  /** Adds or raises a score, never lowers it (a late reading does not make a device look silent longer). */
  zaddGreater(key: string, score: number, member: string): void {
    this.ops.push(['zaddgt', this.index(key), String(score), member]);
  }

  zrem(key: string, member: string): void {
    this.ops.push(['zrem', this.index(key), member]);
  }

  zremRangeByScore(key: string, min: string, max: string): void {
    this.ops.push(['zremrangebyscore', this.index(key), min, max]);
  }

  hset(key: string, field: string, value: string): void {
    this.ops.push(['hset', this.index(key), field, this.ref(value)]);
  }

  sadd(key: string, member: string): void {
    this.ops.push(['sadd', this.index(key), member]);
  }

  encode(): { keys: string[]; args: string[] } {
    return { keys: this.keys, args: [JSON.stringify({ cas: this.cas, ops: this.ops }), ...this.values] };
  }
}

export type CommitOutcome = 'applied' | 'duplicate' | 'conflict';

/** Commits the plan; `position` is the batch's last position, undefined for timer and operator writes. */
export async function commitPlan(redis: RedisConnection, plan: CommitPlan, position: string | undefined): Promise<CommitOutcome> {
  if (position !== undefined && !isCanonicalPosition(position)) {
    throw new SluiceError('POSITION_INVALID', `alerts commit: a position is a decimal string without leading zeros, got ${JSON.stringify(position)}`);
  }
  const { keys, args } = plan.encode();
  const [code] = await commitMethod(redis).call(redis, keys.length, ...keys, position ?? '', ...args);
  if (code === 1) return 'applied';
  if (code === 0) return 'duplicate';
  if (code === 2) return 'conflict';
  throw new SluiceError('UNKNOWN', `alerts commit: unexpected reply ${String(code)}`);
}
