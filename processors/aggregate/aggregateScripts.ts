/**
 * The aggregate's Lua scripts (lua/*.lua), read once. Like the runtime's scripts (bullmq
 * style): one file each with a header listing keys, arguments and replies; shared functions in
 * lua/aggregateCommon.lua are prepended. The batch script runs under the runtime's exactly-once
 * guard; the timer's and the outbox's scripts are plain ones.
 */
import { readProjectAsset } from '../../core/projectAssets';
import type { GuardedScript } from '../../runtime/exactlyOnce/guardedScript';
import { guardedScript } from '../../runtime/exactlyOnce/guardedScript';
import type { RedisConnection } from '../../runtime/redis/scriptLoader';


function lua(name: string): string {
  return readProjectAsset(`processors/aggregate/lua/${name}.lua`);
}

let batchScript: GuardedScript | undefined;

export function applyBatchScript(): GuardedScript {
  batchScript ??= guardedScript('aggregateApplyBatch', `${lua('aggregateCommon')}\n${lua('applyBatch')}`);
  return batchScript;
}

type PlainScript = 'aggregateCloseDue' | 'aggregateClaimOutbox';
const PLAIN: Record<PlainScript, { file: string; keys: number }> = {
  aggregateCloseDue: { file: 'closeDue', keys: 3 },
  aggregateClaimOutbox: { file: 'claimOutbox', keys: 2 },
};

const defined = new WeakSet<RedisConnection>();

/** Runs one of the plain scripts (EVALSHA, EVAL on NOSCRIPT). */
export async function runPlainScript(redis: RedisConnection, name: PlainScript, keys: string[], args: (string | number)[]): Promise<unknown> {
  if (!defined.has(redis)) {
    for (const [command, { file, keys: numberOfKeys }] of Object.entries(PLAIN)) {
      redis.defineCommand(command, { lua: `${lua('aggregateCommon')}\n${lua(file)}`, numberOfKeys });
    }
    defined.add(redis);
  }
  const method = (redis as unknown as Record<string, (...values: (string | number)[]) => Promise<unknown>>)[name];
  if (!method) throw new Error(`script ${name} is not defined`);
  return method.call(redis, ...keys, ...args);
}
