/**
 * One compactor per lake at a time, through a PostgreSQL session advisory lock keyed by the
 * lake's path. A session lock dies with its connection, so a compactor killed mid-run (SIGKILL,
 * a Lambda timeout) frees it at once: no lock file to expire, no stale-lock guessing.
 */
import path from 'node:path';
import type { Pool } from 'pg';
import { withPgClient } from '../../shared/pgConnections';

/** Arbitrary but fixed: the advisory-lock class of lake compaction (the second key is the lake's hash). */
const LAKE_LOCK_CLASS = 0x51_75_1c_e1;

/** Runs `work` holding the lake's lock; `{ acquired: false }` at once when another compactor holds it. */
export async function withLakeCompactionLock<T>(pool: Pool, lakeDir: string, work: () => Promise<T>): Promise<{ acquired: true; value: T } | { acquired: false }> {
  // The client is held for the whole compaction: withPgClient keeps a dropped connection from
  // crashing the process meanwhile. The server frees the lock with the connection, so another
  // compactor may start before this one finishes (not detected yet).
  return withPgClient(pool, async (client) => {
    const key = path.resolve(lakeDir);
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [LAKE_LOCK_CLASS, key]);
    if (!rows[0]?.locked) return { acquired: false };
    try {
      return { acquired: true, value: await work() };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LAKE_LOCK_CLASS, key]).catch(() => undefined);
    }
  });
}
