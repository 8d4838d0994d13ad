/**
 * PostgreSQL schema migrations owned by the project. Each processor declares its own ordered
 * list (ids unique across the project, e.g. `storage-001-readings`); `applyMigrations` runs the
 * ones not yet recorded in `sluice_migrations`, each in its own transaction, under an advisory
 * lock so that workers starting together do not race. Applied migrations are never edited:
 * a change is a new migration.
 */
import type { Pool } from 'pg';

export interface Migration {
  id: string;
  sql: string;
}

/** Arbitrary but fixed: the advisory lock all sluice migrators share. */
const MIGRATION_LOCK = 0x51_75_1c_e0;

/** Applies the migrations not yet applied, in order; returns the ids it applied. */
export async function applyMigrations(pool: Pool, migrations: readonly Migration[]): Promise<string[]> {
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS sluice_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const done = new Set((await client.query<{ id: string }>('SELECT id FROM sluice_migrations')).rows.map((row) => row.id));
    for (const migration of migrations) {
      if (done.has(migration.id)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO sluice_migrations (id) VALUES ($1)', [migration.id]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${migration.id} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      applied.push(migration.id);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
  return applied;
}
