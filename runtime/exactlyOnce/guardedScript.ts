/**
 * Exactly-once for processors whose Redis effects need more than applyOnce's closed set of ops
 * (reading what is stored to merge into it, conditions checked before writing): the caller
 * writes the body of a Lua script and this runs it under the SAME guard as applyOnce, on the
 * same record of the scope's last applied position (`keys.exactlyOnceApplied(scope)`), in one
 * atomic script:
 *
 *   1. position at or below the recorded one      -> `duplicate`, the body does not run;
 *   2. `expectedLast` given and the recorded one differs -> `moved`, the body does not run
 *      (the caller read state at one position and must re-read it: another writer - a zombie
 *      worker that lost its lease - applied in between);
 *   3. the body runs: it returns `true, reply` -> applied and the position is recorded, or
 *      `false, reply` -> `refused`, the position is NOT recorded (the body must not have written
 *      anything: Redis does not roll back a half-run script, so a body checks first, then writes).
 *
 * The body is Lua that defines `local function apply(keys, args)`; `keys` and `args` are the
 * caller's own (KEYS and ARGV without the guard's). `comparePositions` and `redisTimeMs` from
 * runtime/redis/scripts/includes are in scope. Replies should be strings (JSON) or integers.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SluiceError } from '../../core/errors';
import { RedisKeys } from '../redis/keys';
import { isCanonicalPosition } from '../redis/positionOrder';
import { redisCallError } from '../redis/redisAvailability';
import type { RedisConnection } from '../redis/scriptLoader';
import { SCRIPT_DIR } from '../redis/scriptLoader';

export interface GuardedScript {
  /** the ioredis command name it is registered under */
  readonly command: string;
  readonly lua: string;
}

export interface GuardedRequest {
  scope: string;
  /** the LAST position the call covers (decimal) */
  position: string;
  /** the recorded position the caller read its state at: null = nothing recorded yet; undefined = do not check */
  expectedLast?: string | null;
  keys: readonly string[];
  args: readonly (string | number)[];
}

export type GuardedOutcome =
  | { outcome: 'applied'; reply: unknown }
  | { outcome: 'refused'; reply: unknown }
  | { outcome: 'duplicate'; last: string }
  | { outcome: 'moved'; last: string | null };

const NO_CHECK = '*';
const NAME = /^[A-Za-z][A-Za-z0-9]*$/;

function include(name: string): string {
  return readFileSync(path.join(SCRIPT_DIR, 'includes', `${name}.lua`), 'utf8');
}

/** Wraps `body` in the exactly-once guard. `name` must be unique per body in a process. */
export function guardedScript(name: string, body: string): GuardedScript {
  if (!NAME.test(name)) throw new SluiceError('CONFIG_INVALID', `guarded script name must be alphanumeric, got ${JSON.stringify(name)}`);
  const lua = `-- exactly-once guard (runtime/exactlyOnce/guardedScript.ts) around ${name}
${include('comparePositions')}
${include('redisTimeMs')}
${body}
local last = redis.call('GET', KEYS[1])
if last and comparePositions(ARGV[1], last) <= 0 then return { 0, last } end
if ARGV[2] ~= '${NO_CHECK}' and (last or '') ~= ARGV[2] then return { 3, last or '' } end
local keys, args = {}, {}
for i = 2, #KEYS do keys[i - 1] = KEYS[i] end
for i = 3, #ARGV do args[i - 2] = ARGV[i] end
local done, reply = apply(keys, args)
if not done then return { 2, reply } end
redis.call('SET', KEYS[1], ARGV[1])
return { 1, reply }
`;
  return { command: `guarded${name[0]?.toUpperCase()}${name.slice(1)}`, lua };
}

const defined = new WeakMap<RedisConnection, Set<string>>();

type ScriptMethod = (...args: (string | number)[]) => Promise<unknown>;

function define(redis: RedisConnection, script: GuardedScript): ScriptMethod {
  let names = defined.get(redis);
  if (!names) {
    names = new Set();
    defined.set(redis, names);
  }
  if (!names.has(script.command)) {
    // ioredis sends EVAL on each new socket (a restarted Redis has no scripts), EVALSHA after, EVAL again on NOSCRIPT
    redis.defineCommand(script.command, { lua: script.lua });
    names.add(script.command);
  }
  return (redis as unknown as Record<string, ScriptMethod>)[script.command] as ScriptMethod;
}

/** Runs `script` for one scope and position; see the header for the outcomes. */
export async function applyOnceWith(redis: RedisConnection, script: GuardedScript, request: GuardedRequest, keys: RedisKeys = new RedisKeys()): Promise<GuardedOutcome> {
  if (!isCanonicalPosition(request.position)) {
    throw new SluiceError('POSITION_INVALID', `${script.command} ${request.scope}: a position is a decimal string without leading zeros, got ${JSON.stringify(request.position)}`);
  }
  const expected = request.expectedLast === undefined ? NO_CHECK : (request.expectedLast ?? '');
  const method = define(redis, script);
  const allKeys = [keys.exactlyOnceApplied(request.scope), ...request.keys];
  let raw: [number, unknown];
  try {
    raw = (await method.call(redis, allKeys.length, ...allKeys, request.position, expected, ...request.args)) as [number, unknown];
  } catch (error) {
    // Redis down: a retriable CONNECTION_FAILED, so the batch is retried; whether the script ran
    // before the connection broke does not matter, the retry finds it `duplicate` if it did
    throw redisCallError(error, `${script.command} ${request.scope}`);
  }
  const [code, value] = raw;
  switch (code) {
    case 1:
      return { outcome: 'applied', reply: value };
    case 2:
      return { outcome: 'refused', reply: value };
    case 0:
      return { outcome: 'duplicate', last: String(value) };
    case 3:
      return { outcome: 'moved', last: value === '' ? null : String(value) };
    default:
      throw new SluiceError('UNKNOWN', `${script.command} ${request.scope}: unexpected reply ${JSON.stringify(raw)}`);
  }
}
