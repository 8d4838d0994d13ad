/**
 * Tumbling-window state for the runtime (TumblingWindowInSeconds on Kinesis): what the last
 * invocation of a window returned as `state`, handed to the next invocation of the same
 * window. Kept in Redis, so it survives a restart of the runtime, with the window's bounds and
 * an index of a shard's open windows (to resume them after a restart).
 *
 * Like AWS, state over 1 MB is refused (STATE_TOO_LARGE): the runtime fails the invocation.
 * We measure the UTF-8 bytes of the JSON, and 1 MB as 1,048,576 bytes.
 *
 * `mapping` is the mapping's lease group name (runtime/redis/keys.ts `leaseGroupName`), so a
 * window lives in the same Cluster slot as its shard's lease and a write can be fenced by it:
 * with a `fence`, only the current lease holder can write, not a zombie that lost the shard.
 */
import { SluiceError } from '../../core/errors';
import type { RedisKeys } from '../redis/keys';
import { runScript } from '../redis/scriptLoader';
import type { RedisConnection } from '../redis/scriptLoader';
import { ScriptReplyCode, scriptReplyError } from '../redis/scriptCodes';
import type { LeaseFence } from '../leases/shardLease';

export const MAX_WINDOW_STATE_BYTES = 1024 * 1024;

/** What a handler returns as `state` (AWS types it `{ [key: string]: any }`). */
export type TumblingWindowState = Record<string, unknown>;

export interface WindowBounds {
  /** epoch ms, inclusive */
  start: number;
  /** epoch ms, exclusive */
  end: number;
}

export interface StoredWindow extends WindowBounds {
  state: TumblingWindowState;
}

export interface TumblingWindowStoreOptions {
  redis: RedisConnection;
  keys: RedisKeys;
  /** default MAX_WINDOW_STATE_BYTES */
  maxStateBytes?: number;
}

function checkBounds(bounds: WindowBounds): void {
  if (!Number.isSafeInteger(bounds.start) || !Number.isSafeInteger(bounds.end) || bounds.end <= bounds.start) {
    throw new SluiceError('OPERATION_INVALID', `tumbling window bounds must be integer epoch ms with start < end, got ${bounds.start}..${bounds.end}`);
  }
}

export class TumblingWindowStore {
  private readonly redis: RedisConnection;
  private readonly keys: RedisKeys;
  private readonly maxStateBytes: number;

  constructor(options: TumblingWindowStoreOptions) {
    this.redis = options.redis;
    this.keys = options.keys;
    this.maxStateBytes = options.maxStateBytes ?? MAX_WINDOW_STATE_BYTES;
  }

  async get(mapping: string, shardId: string, windowStart: number): Promise<StoredWindow | null> {
    const hash = await this.redis.hgetall(this.keys.window(mapping, shardId, windowStart));
    if (hash.state === undefined) return null;
    return { start: Number(hash.start), end: Number(hash.end), state: JSON.parse(hash.state) as TumblingWindowState };
  }

  /**
   * Stores the state the window's latest invocation returned. STATE_TOO_LARGE over the cap,
   * ENCODE_FAILED if it is not JSON, LEASE_LOST if fenced and the lease moved on.
   */
  async put(mapping: string, shardId: string, window: WindowBounds, state: TumblingWindowState, fence?: LeaseFence): Promise<void> {
    checkBounds(window);
    const json = this.serialize(state, `${mapping}/${shardId} window ${window.start}`);
    const reply = await runScript(
      this.redis,
      'windowPut',
      [this.keys.window(mapping, shardId, window.start), this.keys.windowIndex(mapping, shardId), this.keys.lease(mapping, shardId)],
      [window.start, window.end, json, fence?.worker ?? '', fence?.counter ?? 0],
    );
    if (reply !== 1) throw scriptReplyError(ScriptReplyCode.LeaseLost, `window state ${mapping}/${shardId}@${window.start}`);
  }

  /** Forgets a window (after its final invocation); false if there was none. */
  async delete(mapping: string, shardId: string, windowStart: number, fence?: LeaseFence): Promise<boolean> {
    const reply = await runScript(
      this.redis,
      'windowDelete',
      [this.keys.window(mapping, shardId, windowStart), this.keys.windowIndex(mapping, shardId), this.keys.lease(mapping, shardId)],
      [windowStart, fence?.worker ?? '', fence?.counter ?? 0],
    );
    if (reply < 0) throw scriptReplyError(ScriptReplyCode.LeaseLost, `window state ${mapping}/${shardId}@${windowStart}`);
    return reply === 1;
  }

  /** The shard's windows that have state, oldest first (what to resume after a restart). */
  async openWindows(mapping: string, shardId: string): Promise<WindowBounds[]> {
    const starts = await this.redis.zrange(this.keys.windowIndex(mapping, shardId), 0, -1);
    if (starts.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const start of starts) pipeline.hmget(this.keys.window(mapping, shardId, Number(start)), 'start', 'end');
    const replies = (await pipeline.exec()) ?? [];
    const windows: WindowBounds[] = [];
    for (const [error, reply] of replies) {
      if (error) throw error;
      const [start, end] = reply as [string | null, string | null];
      if (start !== null && end !== null) windows.push({ start: Number(start), end: Number(end) });
    }
    return windows;
  }

  private serialize(state: TumblingWindowState, what: string): string {
    let json: string | undefined;
    try {
      json = JSON.stringify(state);
    } catch (error) {
      throw new SluiceError('ENCODE_FAILED', `${what}: state is not JSON-serializable`, { cause: error });
    }
    if (json === undefined || state === null || typeof state !== 'object' || Array.isArray(state)) {
      throw new SluiceError('ENCODE_FAILED', `${what}: state must be a JSON object`);
    }
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > this.maxStateBytes) {
      throw new SluiceError('STATE_TOO_LARGE', `${what}: state is ${bytes} bytes, over the ${this.maxStateBytes}-byte (1 MB) tumbling window limit`);
    }
    return json;
  }
}
