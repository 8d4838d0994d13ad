/**
 * Loads sluice's Lua scripts (scripts/name-<numKeys>.lua, like bullmq) once per process and
 * registers them on each connection with ioredis `defineCommand`. ioredis (5.x) sends a script's
 * first call on each socket as EVAL (which caches it in Redis) and EVALSHA afterwards, and when
 * Redis answers NOSCRIPT anyway (a SCRIPT FLUSH) it sends EVAL again: so a reconnect to a
 * restarted Redis, whose script cache is empty, needs nothing from us
 * (test/runtime/redis/scriptLoaderRestart.test.ts). A call that meets Redis down fails as a
 * retriable CONNECTION_FAILED (redisAvailability.ts). `-var` in a file name means a variable
 * number of keys, passed per call.
 *
 * `-- @include "name"` lines pull in scripts/includes/name.lua (shared helpers such as the
 * position order), so a helper exists once in Lua as `keys.ts` makes keys exist once in TS.
 */
import path from 'node:path';
import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { SluiceError } from '../../core/errors';
import { listProjectAssets, readProjectAsset } from '../../core/projectAssets';
import { redisCallError } from './redisAvailability';

/** A single Redis or a Cluster: every key a script touches shares one hash tag (keys.ts). */
export type RedisConnection = Redis | Cluster;

/** Raw lease reply: HGETALL pairs, or a negative ScriptReplyCode. */
type LeaseReply = string[] | number;

/** The scripts, their keys and arguments as the Lua headers list them, and their raw replies. */
export interface ScriptCatalog {
  createLease: { keys: [lease: string, shardIndex: string]; args: [shardId: string, checkpoint: string, atTimestamp: string, parentShardIdsJson: string]; reply: number };
  deleteLease: { keys: [lease: string, shardIndex: string]; args: [shardId: string]; reply: number };
  takeLease: { keys: [lease: string]; args: [worker: string, expectedCounter: string, leaseDurationMs: number]; reply: LeaseReply };
  renewLease: { keys: [lease: string]; args: [worker: string, counter: number, leaseDurationMs: number]; reply: LeaseReply };
  checkpointLease: { keys: [lease: string]; args: [worker: string, counter: number, position: string]; reply: number };
  releaseLease: { keys: [lease: string]; args: [worker: string, counter: number]; reply: number };
  rewindLease: { keys: [lease: string]; args: [position: string, atTimestamp: string]; reply: LeaseReply };
  heartbeat: { keys: [workers: string]; args: [worker: string, ttlMs: number]; reply: [number, ...string[]] };
  applyOnce: { keys: string[]; args: string[]; reply: number | [number, number] };
  windowPut: { keys: [window: string, windowIndex: string, lease: string]; args: [start: number, end: number, stateJson: string, fenceWorker: string, fenceCounter: number]; reply: number };
  windowDelete: { keys: [window: string, windowIndex: string, lease: string]; args: [start: number, fenceWorker: string, fenceCounter: number]; reply: number };
}

export type ScriptName = keyof ScriptCatalog;

/** Keys per script as the file names say; checked against the files at load time. */
const KEY_COUNTS: Record<ScriptName, number | 'var'> = {
  createLease: 2,
  deleteLease: 2,
  takeLease: 1,
  renewLease: 1,
  checkpointLease: 1,
  releaseLease: 1,
  rewindLease: 1,
  heartbeat: 1,
  applyOnce: 'var',
  windowPut: 3,
  windowDelete: 3,
};

export interface LuaScript {
  name: string;
  /** undefined: variable, passed with each call */
  numberOfKeys: number | undefined;
  lua: string;
}

export const SCRIPT_DIR = path.join(__dirname, 'scripts');
/** SCRIPT_DIR as a project path (core/projectAssets) */
const SCRIPT_ASSETS = 'runtime/redis/scripts';
const FILE_NAME = /^([A-Za-z]+)-(\d+|var)\.lua$/;
const INCLUDE = /^-- @include "([A-Za-z]+)"[ \t]*$/gm;

let loaded: ReadonlyMap<ScriptName, LuaScript> | undefined;

function withIncludes(lua: string, file: string): string {
  return lua.replace(INCLUDE, (_line, name: string) => {
    try {
      return readProjectAsset(`${SCRIPT_ASSETS}/includes/${name}.lua`);
    } catch (error) {
      throw new SluiceError('CONFIG_INVALID', `${file}: cannot include "${name}"`, { cause: error });
    }
  });
}

/** Every script, read from disk on first use only. */
export function luaScripts(): ReadonlyMap<ScriptName, LuaScript> {
  if (loaded) return loaded;
  const scripts = new Map<ScriptName, LuaScript>();
  for (const file of listProjectAssets(SCRIPT_ASSETS)) {
    if (!file.endsWith('.lua')) continue;
    const match = FILE_NAME.exec(file);
    const name = match?.[1];
    if (!match || name === undefined || !(name in KEY_COUNTS)) {
      throw new SluiceError('CONFIG_INVALID', `${file}: not a known script named name-<numKeys>.lua`);
    }
    const expected = KEY_COUNTS[name as ScriptName];
    const numberOfKeys = match[2] === 'var' ? undefined : Number(match[2]);
    if ((expected === 'var' ? undefined : expected) !== numberOfKeys) {
      throw new SluiceError('CONFIG_INVALID', `${file}: the catalog expects ${expected} keys`);
    }
    scripts.set(name as ScriptName, { name, numberOfKeys, lua: withIncludes(readProjectAsset(`${SCRIPT_ASSETS}/${file}`), file) });
  }
  for (const name of Object.keys(KEY_COUNTS)) {
    if (!scripts.has(name as ScriptName)) throw new SluiceError('CONFIG_INVALID', `script ${name} has no file in ${SCRIPT_DIR}`);
  }
  loaded = scripts;
  return scripts;
}

const definedOn = new WeakSet<RedisConnection>();

/** Registers every script on this connection (once); pipelines made afterwards have them too. */
export function defineScripts(redis: RedisConnection): void {
  if (definedOn.has(redis)) return;
  for (const script of luaScripts().values()) {
    redis.defineCommand(script.name, script.numberOfKeys === undefined ? { lua: script.lua } : { lua: script.lua, numberOfKeys: script.numberOfKeys });
  }
  definedOn.add(redis);
}

// defineCommand adds methods ioredis' types cannot know; this is their shape.
type ScriptMethod = (...args: (string | number)[]) => Promise<unknown>;
type QueueMethod = (...args: (string | number)[]) => ChainableCommander;

function callArgs(name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): (string | number)[] {
  const expected = KEY_COUNTS[name];
  if (expected === 'var') return [keys.length, ...keys, ...args];
  if (keys.length !== expected) throw new Error(`script ${name}: ${expected} keys expected, got ${keys.length}`);
  return [...keys, ...args];
}

/** Runs a script by EVALSHA (EVAL on NOSCRIPT). */
export async function runScript<N extends ScriptName>(
  redis: RedisConnection,
  name: N,
  keys: ScriptCatalog[N]['keys'],
  args: ScriptCatalog[N]['args'],
): Promise<ScriptCatalog[N]['reply']> {
  defineScripts(redis);
  const method = (redis as unknown as Record<string, ScriptMethod>)[name] as ScriptMethod;
  try {
    return (await method.apply(redis, callArgs(name, keys, args))) as ScriptCatalog[N]['reply'];
  } catch (error) {
    throw redisCallError(error, `script ${name}`);
  }
}

/** A pipeline that can queue scripts (see queueScript). */
export function scriptPipeline(redis: RedisConnection): ChainableCommander {
  defineScripts(redis);
  return redis.pipeline();
}

/** Queues a script on a pipeline from scriptPipeline(); its reply comes with exec(). */
export function queueScript<N extends ScriptName>(pipeline: ChainableCommander, name: N, keys: ScriptCatalog[N]['keys'], args: ScriptCatalog[N]['args']): void {
  const method = (pipeline as unknown as Record<string, QueueMethod | undefined>)[name];
  if (!method) throw new Error(`script ${name}: the pipeline was not made by scriptPipeline()`);
  method.apply(pipeline, callArgs(name, keys, args));
}

/** exec() a pipeline and return its replies, throwing the first command error. */
export async function execPipeline(pipeline: ChainableCommander): Promise<unknown[]> {
  let results: Array<[Error | null, unknown]>;
  try {
    results = (await pipeline.exec()) ?? [];
  } catch (error) {
    throw redisCallError(error, 'pipeline');
  }
  return results.map(([error, reply]) => {
    if (error) throw redisCallError(error, 'pipeline');
    return reply;
  });
}
