/**
 * The bounded Redis window behind duplicate detection (verdicts in dedupeVerdicts.ts).
 *
 * One sorted set per device, `<prefix>:transform:dedupe:<deviceId>`: score = seq, member =
 * `<seq>:<claim>`, the claim being a 72-bit fingerprint of the (scope, position) of the stream
 * record whose enriched reading was produced. Bounds:
 *
 * - size: the `maxSeqs` highest seqs of a device (default 128, which keeps each set in Redis'
 *   compact listpack encoding: a few kB per device);
 * - time: a device's window expires `ttlMs` after its last emitted reading (default 24 h).
 *
 * What the bound means: a duplicate whose seq is below a device's window, or that arrives after
 * the window expired, is not recognised and passes through to the enriched stream; aggregate,
 * storage and alerts count (deviceId, seq) once, so it changes nothing there. The window only
 * keeps that extra traffic small. A fingerprint collision (two positions with equal claims,
 * odds about 2^-72) makes a duplicate look like a redelivery: it too passes, never the reverse.
 *
 * The scripts touch several devices' keys at once, so the window needs one Redis (or keys in
 * one Cluster slot); like every processor key it sits under SLUICE_KEY_PREFIX.
 */
import { readProjectAsset } from '../../core/projectAssets';
import { createHash } from 'node:crypto';
import type Redis from 'ioredis';

export interface DedupeWindowOptions {
  keyPrefix: string;
  /** seqs kept per device (its highest ones) */
  maxSeqs: number;
  /** a device's window expires this long after its last mark */
  ttlMs: number;
}

export const DEFAULT_DEDUPE_WINDOW = 128;
export const DEFAULT_DEDUPE_TTL_MS = 24 * 3600 * 1000;

/** Readings per script call: bounds how long one call holds Redis. */
const CHUNK = 1000;

let scripts: { find: string; mark: string } | undefined;

function loadScripts(): { find: string; mark: string } {
  scripts ??= {
    find: readProjectAsset('processors/transform/scripts/findEmitted-var.lua'),
    mark: readProjectAsset('processors/transform/scripts/markEmitted-var.lua'),
  };
  return scripts;
}

// defineCommand adds these methods (EVALSHA, EVAL on NOSCRIPT); ioredis' types cannot know them.
interface WindowCommands {
  sluiceTransformFindEmitted(numKeys: number, ...keysAndArgs: string[]): Promise<string[]>;
  sluiceTransformMarkEmitted(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>;
}

const definedOn = new WeakSet<Redis>();

function commandsOf(redis: Redis): WindowCommands {
  if (!definedOn.has(redis)) {
    const { find, mark } = loadScripts();
    redis.defineCommand('sluiceTransformFindEmitted', { lua: find });
    redis.defineCommand('sluiceTransformMarkEmitted', { lua: mark });
    definedOn.add(redis);
  }
  return redis as unknown as WindowCommands;
}

/** The claim of a stream record: a fingerprint of where it sits, 12 base64url characters. */
export function claimOf(scope: string, position: string): string {
  return createHash('sha1').update(scope).update('\n').update(position).digest('base64url').slice(0, 12);
}

export interface WindowEntry {
  deviceId: string;
  seq: number;
}

export class DedupeWindow {
  constructor(private readonly redis: Redis, private readonly options: DedupeWindowOptions) {}

  keyOf(deviceId: string): string {
    return `${this.options.keyPrefix}:transform:dedupe:${deviceId}`;
  }

  /** Per entry, the claim of the record its (deviceId, seq) was emitted from, or null. */
  async emittedClaims(entries: readonly WindowEntry[]): Promise<(string | null)[]> {
    const commands = commandsOf(this.redis);
    const claims: (string | null)[] = [];
    for (let start = 0; start < entries.length; start += CHUNK) {
      const chunk = entries.slice(start, start + CHUNK);
      const reply = await commands.sluiceTransformFindEmitted(chunk.length, ...chunk.map((entry) => this.keyOf(entry.deviceId)), ...chunk.map((entry) => String(entry.seq)));
      for (const claim of reply) claims.push(claim === '' ? null : claim);
    }
    return claims;
  }

  /** Records produced readings (call only after the produce succeeded); returns how many claims were new. */
  async markEmitted(entries: ReadonlyArray<WindowEntry & { claim: string }>): Promise<number> {
    const commands = commandsOf(this.redis);
    let added = 0;
    for (let start = 0; start < entries.length; start += CHUNK) {
      const chunk = entries.slice(start, start + CHUNK);
      added += await commands.sluiceTransformMarkEmitted(
        chunk.length,
        ...chunk.map((entry) => this.keyOf(entry.deviceId)),
        this.options.maxSeqs,
        this.options.ttlMs,
        ...chunk.map((entry) => `${entry.seq}:${entry.claim}`),
      );
    }
    return added;
  }
}
