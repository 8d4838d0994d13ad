/**
 * Registry lookups for a stream processor: an in-process cache with a short TTL in front of
 * PostgreSQL, and one query per call for every id the cache cannot answer. Unknown devices are
 * cached too (as null), so a fleet of unregistered devices does not query on every batch.
 *
 * The TTL is how long a change to the registry (`sluice devices import`) may take to reach a
 * running processor. The cache lives in the module of one function instance, like a Lambda
 * keeps it between invocations of a warm instance; nothing depends on it being there.
 */
import type { RegisteredDevice } from './deviceRegistration';
import type { Queryable } from './deviceStore';
import { findDevices } from './deviceStore';

export interface DeviceLookupOptions {
  /** how long an answer (known or unknown) is reused; default 30 s */
  ttlMs?: number;
  /** most devices kept; the oldest entries go first; default 100,000 */
  maxEntries?: number;
  now?: () => number;
}

interface CacheEntry {
  device: RegisteredDevice | null;
  expiresAt: number;
}

export const DEFAULT_REGISTRY_CACHE_MS = 30_000;
const DEFAULT_MAX_ENTRIES = 100_000;

export class DeviceLookup {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** queries sent to PostgreSQL (tests and metrics) */
  queries = 0;

  constructor(private readonly db: Queryable, options: DeviceLookupOptions = {}) {
    this.ttlMs = options.ttlMs ?? DEFAULT_REGISTRY_CACHE_MS;
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.now = options.now ?? Date.now;
  }

  /**
   * Each id's registration, or null for a device the registry does not know. One query for the
   * ids the cache cannot answer; a database error rejects (the caller fails its invocation).
   */
  async lookup(deviceIds: Iterable<string>): Promise<Map<string, RegisteredDevice | null>> {
    const now = this.now();
    const answers = new Map<string, RegisteredDevice | null>();
    const missing: string[] = [];
    for (const deviceId of deviceIds) {
      if (answers.has(deviceId)) continue;
      const cached = this.cache.get(deviceId);
      if (cached && cached.expiresAt > now) {
        answers.set(deviceId, cached.device);
      } else {
        answers.set(deviceId, null);
        missing.push(deviceId);
      }
    }
    if (missing.length === 0) return answers;
    this.queries += 1;
    const found = await findDevices(this.db, missing);
    const expiresAt = this.now() + this.ttlMs;
    for (const deviceId of missing) {
      const device = found.get(deviceId) ?? null;
      answers.set(deviceId, device);
      this.remember(deviceId, { device, expiresAt });
    }
    return answers;
  }

  /** Forgets every cached answer (after an import in the same process). */
  clear(): void {
    this.cache.clear();
  }

  private remember(deviceId: string, entry: CacheEntry): void {
    // Re-inserting moves the id to the end, so the Map's order is oldest-written first.
    this.cache.delete(deviceId);
    this.cache.set(deviceId, entry);
    while (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next();
      if (oldest.done === true) break;
      this.cache.delete(oldest.value);
    }
  }
}
