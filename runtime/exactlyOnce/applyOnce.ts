/**
 * Exactly-once effects in Redis on an at-least-once stream.
 *
 * `applyOnce` applies a batch's Redis updates and records the scope's last applied position
 * in ONE Lua script (runtime/redis/scripts/applyOnce-var.lua). When the same batch comes again
 * (a retry, a replay after a crash before the checkpoint), its position is at or below the
 * recorded one and nothing is applied: the effects count once however often it is delivered.
 *
 * What this guarantees, and what it asks of the caller:
 * - A scope is one ordered sequence of positions: one Kafka partition or one Kinesis shard of
 *   one mapping (e.g. `${mapping}/${partition}`). Positions within a scope must only grow, as
 *   they do within one partition. Two partitions must never share a scope.
 * - A batch is applied with its LAST position, in one call. Splitting a batch into several
 *   calls is fine only if each call carries the last position of the records it covers, and
 *   calls go in order; a call with an earlier position after a later one is a duplicate.
 * - The guarantee holds as long as the records at and below a recorded position never need
 *   to be applied again: after a `checkpoints rewind` behind it, their effects are skipped as
 *   duplicates (they were applied already), which is what a rewind for reprocessing wants only
 *   if the effects were removed too - reset the scope with `forgetScope` for that.
 * - All ops of a call are checked against the keys' current types first, and nothing is
 *   written unless all can apply (Redis does not roll back a half-run script).
 * - In Redis Cluster every key of a call must share the scope's slot: build them with
 *   `keys.exactlyOnceHashTag(scope)`. On a single Redis any keys work.
 */
import { SluiceError } from '../../core/errors';
import { RedisKeys } from '../redis/keys';
import { isCanonicalPosition } from '../redis/positionOrder';
import { runScript } from '../redis/scriptLoader';
import type { RedisConnection } from '../redis/scriptLoader';
import { ScriptReplyCode, scriptReplyError } from '../redis/scriptCodes';

/** The closed set of updates: sums, last values, extremes, sorted sets and expiry. */
export type RedisOp =
  | { op: 'hincrby'; key: string; field: string; value: number }
  | { op: 'hincrbyfloat'; key: string; field: string; value: number }
  | { op: 'hset'; key: string; field: string; value: string | number }
  | { op: 'hsetnx'; key: string; field: string; value: string | number }
  /** keeps the larger of the field's value and `value` */
  | { op: 'hmax'; key: string; field: string; value: number }
  /** keeps the smaller of the field's value and `value` */
  | { op: 'hmin'; key: string; field: string; value: number }
  | { op: 'incrby'; key: string; value: number }
  | { op: 'set'; key: string; value: string | number }
  /** field is the member, value its score */
  | { op: 'zadd'; key: string; field: string; value: number }
  /** value in ms */
  | { op: 'pexpire'; key: string; value: number };

export type ApplyOutcome = 'applied' | 'duplicate';

export interface ApplyOnceRequest {
  scope: string;
  /** the batch's LAST position: a decimal offset or sequence number */
  position: string;
  ops: readonly RedisOp[];
}

export interface ExactlyOnceOptions {
  redis: RedisConnection;
  keys: RedisKeys;
}

const OP_NAMES = new Set(['hincrby', 'hincrbyfloat', 'hset', 'hsetnx', 'hmax', 'hmin', 'incrby', 'set', 'zadd', 'pexpire']);
const INTEGER_OPS = new Set(['hincrby', 'incrby', 'pexpire']);
const NUMERIC_OPS = new Set(['hincrby', 'hincrbyfloat', 'hmax', 'hmin', 'incrby', 'zadd', 'pexpire']);
/** ops that read the stored value as a number (integer for hincrby/incrby) */
const READS_NUMBER = new Set(['hincrby', 'hincrbyfloat', 'hmax', 'hmin', 'incrby']);
const READS_INTEGER = new Set(['hincrby', 'incrby']);
const SETS_VALUE = new Set(['hset', 'hsetnx', 'set']);
/** consecutive ops of these kinds on one key/field fold into one (a sum, a max, a min) */
const FOLDABLE = new Set(['hincrby', 'incrby', 'hmax', 'hmin']);
/** the Redis type each op works on (pexpire: any) */
const FAMILY: Record<string, string> = {
  hincrby: 'hash', hincrbyfloat: 'hash', hset: 'hash', hsetnx: 'hash', hmax: 'hash', hmin: 'hash', incrby: 'string', set: 'string', zadd: 'zset',
};
const HAS_FIELD = new Set(['hincrby', 'hincrbyfloat', 'hset', 'hsetnx', 'hmax', 'hmin', 'zadd']);

function invalid(index: number, problem: string): SluiceError {
  return new SluiceError('OPERATION_INVALID', `applyOnce ops[${index}]: ${problem}`);
}

function checkOp(op: RedisOp, index: number, appliedKey: string): string {
  if (!OP_NAMES.has(op.op)) throw invalid(index, `unknown op ${JSON.stringify(op.op)}`);
  if (typeof op.key !== 'string' || op.key.length === 0) throw invalid(index, 'key must be a non-empty string');
  if (op.key === appliedKey) throw invalid(index, 'must not touch the scope record itself');
  const field = 'field' in op ? op.field : '';
  if (HAS_FIELD.has(op.op) && (typeof field !== 'string' || field.length === 0)) throw invalid(index, `${op.op} needs a field`);
  if (NUMERIC_OPS.has(op.op)) {
    if (typeof op.value !== 'number' || !Number.isFinite(op.value)) throw invalid(index, `${op.op} needs a finite number, got ${String(op.value)}`);
    if (INTEGER_OPS.has(op.op) && !Number.isSafeInteger(op.value)) throw invalid(index, `${op.op} needs a safe integer, got ${op.value}`);
  } else if (typeof op.value !== 'string' && !(typeof op.value === 'number' && Number.isFinite(op.value))) {
    throw invalid(index, `${op.op} needs a string or a finite number`);
  }
  return field;
}

interface EncodedOp {
  op: string;
  keyNumber: number;
  field: string;
  value: number | string;
  /** the first caller op folded into this one, for error messages */
  index: number;
}

/**
 * Checks ops and encodes them as the script's KEYS and ARGV. Everything Redis would fail on
 * half-way through is refused here or by the script's checks before any write: a key used as
 * two types, or a number read from a value an earlier op of the call set to text. Runs of
 * additions / maxima / minima on one key and field fold into one op (the result is the same).
 */
function encode(appliedKey: string, position: string, ops: readonly RedisOp[]): { keys: string[]; args: string[]; encoded: EncodedOp[] } {
  const keys = [appliedKey];
  const keyIndex = new Map<string, number>();
  const encoded: EncodedOp[] = [];
  const lastOnTarget = new Map<string, EncodedOp>(); // key/field -> the latest op touching it
  const families = new Map<string, { index: number; family: string }>();
  ops.forEach((op, index) => {
    const field = checkOp(op, index, appliedKey);
    const family = FAMILY[op.op];
    if (family !== undefined) {
      const seen = families.get(op.key);
      if (seen && seen.family !== family) throw invalid(index, `uses ${op.key} as a ${family} but ops[${seen.index}] uses it as a ${seen.family}`);
      if (!seen) families.set(op.key, { index, family });
    }
    const target = `${op.key}\u0000${field}`;
    const previous = lastOnTarget.get(target);
    if (previous && READS_NUMBER.has(op.op) && SETS_VALUE.has(previous.op)) {
      const integer = READS_INTEGER.has(op.op);
      if (typeof previous.value !== 'number' || (integer && !Number.isSafeInteger(previous.value))) {
        throw invalid(index, `reads ${integer ? 'an integer' : 'a number'} that ops[${previous.index}] sets to ${JSON.stringify(previous.value)} in the same call`);
      }
    }
    if (previous && previous.op === op.op && FOLDABLE.has(op.op)) {
      const a = previous.value as number;
      const b = op.value as number;
      const folded = op.op === 'hmax' ? Math.max(a, b) : op.op === 'hmin' ? Math.min(a, b) : a + b;
      if (Number.isSafeInteger(folded) || op.op === 'hmax' || op.op === 'hmin') {
        previous.value = folded;
        return;
      }
    }
    let keyNumber = keyIndex.get(op.key);
    if (keyNumber === undefined) {
      keys.push(op.key);
      keyNumber = keys.length; // Lua's KEYS is 1-based
      keyIndex.set(op.key, keyNumber);
    }
    const entry: EncodedOp = { op: op.op, keyNumber, field, value: op.value, index };
    encoded.push(entry);
    if (op.op !== 'pexpire') lastOnTarget.set(target, entry); // an expiry changes no value
  });
  const wire = JSON.stringify(encoded.map((entry) => [entry.op, entry.keyNumber, entry.field, String(entry.value)]));
  return { keys, args: [position, wire], encoded };
}

export class ExactlyOnceStore {
  private readonly redis: RedisConnection;
  private readonly keys: RedisKeys;

  constructor(options: ExactlyOnceOptions) {
    this.redis = options.redis;
    this.keys = options.keys;
  }

  /** Applies `ops` unless `position` is at or below the scope's last applied position. */
  async applyOnce(request: ApplyOnceRequest): Promise<ApplyOutcome> {
    if (!isCanonicalPosition(request.position)) {
      throw new SluiceError('POSITION_INVALID', `applyOnce ${request.scope}: a position is a decimal string without leading zeros, got ${JSON.stringify(request.position)}`);
    }
    const { keys, args, encoded } = encode(this.keys.exactlyOnceApplied(request.scope), request.position, request.ops);
    const reply = await runScript(this.redis, 'applyOnce', keys, args);
    if (reply === 1) return 'applied';
    if (reply === 0) return 'duplicate';
    const index = Array.isArray(reply) ? (encoded[reply[1] - 1]?.index ?? -1) : -1;
    throw scriptReplyError(ScriptReplyCode.WrongType, `applyOnce ${request.scope} ops[${index}] on ${JSON.stringify(request.ops[index]?.key)}`);
  }

  /** The scope's last applied position, or null if nothing was applied yet. */
  async lastApplied(scope: string): Promise<string | null> {
    return this.redis.get(this.keys.exactlyOnceApplied(scope));
  }

  /** Forgets the scope's position (after its effects were reset): the next delivery applies. */
  async forgetScope(scope: string): Promise<void> {
    await this.redis.del(this.keys.exactlyOnceApplied(scope)); // one command: atomic without a script
  }
}

/** The brief's functional form: `applyOnce(redis, { scope, position, ops })` with the default key prefix. */
export async function applyOnce(redis: RedisConnection, request: ApplyOnceRequest, keys?: RedisKeys): Promise<ApplyOutcome> {
  return new ExactlyOnceStore({ redis, keys: keys ?? defaultKeys() }).applyOnce(request);
}

export async function lastApplied(redis: RedisConnection, scope: string, keys?: RedisKeys): Promise<string | null> {
  return new ExactlyOnceStore({ redis, keys: keys ?? defaultKeys() }).lastApplied(scope);
}

let sharedDefaultKeys: RedisKeys | undefined;
function defaultKeys(): RedisKeys {
  sharedDefaultKeys ??= new RedisKeys();
  return sharedDefaultKeys;
}
