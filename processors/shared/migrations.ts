/**
 * PostgreSQL schema migrations owned by the project. Each processor declares its own ordered
 * list (ids unique across the project, e.g. `storage-001-readings`); `applyMigrations` runs the
 * ones not yet recorded in `sluice_migrations`, each in its own transaction, under an advisory
 * lock so that workers starting together do not race. Applied migrations are never edited:
 * a change is a new migration.
 *
 * Least privilege (SECURITY.md): the owner role applies migrations (`sluice security pg-roles
 * --migrate`), and the pipeline role may only read the ledger. So the ledger is read first, with
 * plain SELECTs: when every migration is applied, nothing else runs (no DDL, no lock), which
 * the pipeline role can do. When one is missing and this role may not create tables, the error
 * names the missing migrations and how to apply them, instead of "permission denied for
 * schema" from the middle of a CREATE TABLE.
 */
import type { Pool } from 'pg';
import { SluiceError, errorMessage } from '../../core/errors';
import { withPgClient } from './pgConnections';

export interface Migration {
  id: string;
  sql: string;
}

/** The ledger of applied migrations, in the first schema of the role's search_path. */
export const MIGRATIONS_LEDGER = 'sluice_migrations';

/** How an operator applies the pipeline's migrations as the owner role (security/postgresRoles.ts). */
export const APPLY_MIGRATIONS_COMMAND = 'sluice security pg-roles --migrate';

const CREATE_LEDGER = `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_LEDGER} (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`;

/** Arbitrary but fixed: the advisory lock all sluice migrators share. */
const MIGRATION_LOCK = 0x51_75_1c_e0;

/** PostgreSQL's SQLSTATE for a privilege the role lacks. */
const INSUFFICIENT_PRIVILEGE = '42501';

/** Migrations are missing and the connected role may not apply them: a deployment step was skipped. */
export class MigrationsNotAppliedError extends SluiceError {
  constructor(
    readonly pending: readonly string[],
    readonly role: string,
    reason: string,
    cause?: unknown,
  ) {
    const plural = pending.length === 1 ? 'migration' : 'migrations';
    super(
      'CONFIG_INVALID',
      `PostgreSQL ${plural} ${pending.join(', ')} not applied, and role ${role} may not apply them (${reason}): ` +
        `apply them as the owner role with \`${APPLY_MIGRATIONS_COMMAND}\` (SECURITY.md), then retry`,
      { cause },
    );
    this.name = 'MigrationsNotAppliedError';
  }
}

interface LedgerState {
  /** the ids among those asked for that the ledger records */
  applied: Set<string>;
  role: string;
  /** where CREATE TABLE would go: the first existing schema of the search_path */
  schema: string | null;
  mayCreate: boolean;
}

/** Reads the ledger without writing anything (a missing ledger means nothing is applied). */
async function readLedger(pool: Pool, ids: readonly string[]): Promise<LedgerState> {
  const { rows } = await pool.query<{ role: string; schema: string | null; ledger: boolean; may_create: boolean }>(
    `SELECT current_user AS role, current_schema() AS schema, to_regclass($1) IS NOT NULL AS ledger,
            coalesce(has_schema_privilege(current_schema(), 'CREATE'), false) AS may_create`,
    [MIGRATIONS_LEDGER],
  );
  const info = rows[0];
  if (!info) throw new SluiceError('UNKNOWN', 'PostgreSQL answered the migration check with no row');
  const state: LedgerState = { applied: new Set(), role: info.role, schema: info.schema, mayCreate: info.may_create };
  if (info.ledger) {
    const recorded = await pool.query<{ id: string }>(`SELECT id FROM ${MIGRATIONS_LEDGER} WHERE id = ANY($1::text[])`, [ids]);
    for (const row of recorded.rows) state.applied.add(row.id);
  }
  return state;
}

function isInsufficientPrivilege(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if ((current as { code?: unknown }).code === INSUFFICIENT_PRIVILEGE) return true;
  }
  return false;
}

/**
 * Applies the migrations not yet applied, in order; returns the ids it applied. Runs no DDL
 * when there is nothing to apply. Throws MigrationsNotAppliedError when some are missing and
 * this role may not apply them.
 */
export async function applyMigrations(pool: Pool, migrations: readonly Migration[]): Promise<string[]> {
  const before = await readLedger(pool, migrations.map((migration) => migration.id));
  const pending = migrations.filter((migration) => !before.applied.has(migration.id)).map((migration) => migration.id);
  if (pending.length === 0) return [];
  if (!before.mayCreate) {
    throw new MigrationsNotAppliedError(pending, before.role, before.schema === null ? 'no schema of its search_path exists' : `no CREATE on schema ${before.schema}`);
  }
  try {
    return await applyUnderLock(pool, migrations);
  } catch (error) {
    // CREATE on the schema but not the right to write the ledger or alter a table, say
    if (isInsufficientPrivilege(error)) throw new MigrationsNotAppliedError(pending, before.role, errorMessage(error), error);
    throw error;
  }
}

/** Creates the ledger if missing (DDL: for a role that may create tables, e.g. the owner). */
export async function createMigrationsLedger(pool: Pool): Promise<void> {
  await pool.query(CREATE_LEDGER);
}

async function applyUnderLock(pool: Pool, migrations: readonly Migration[]): Promise<string[]> {
  return withPgClient(pool, async (client) => {
    const applied: string[] = [];
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(CREATE_LEDGER);
      // read again under the lock: another worker may have applied some since the first look
      const done = new Set((await client.query<{ id: string }>(`SELECT id FROM ${MIGRATIONS_LEDGER}`)).rows.map((row) => row.id));
      for (const migration of migrations) {
        if (done.has(migration.id)) continue;
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query(`INSERT INTO ${MIGRATIONS_LEDGER} (id) VALUES ($1)`, [migration.id]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new Error(`migration ${migration.id} failed: ${errorMessage(error)}`, { cause: error });
        }
        applied.push(migration.id);
      }
    } finally {
      // a session lock: it also ends with the connection, which withPgClient drops after a failure
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    }
    return applied;
  });
}

const ensured = new WeakMap<Pool, Map<readonly Migration[], Promise<void>>>();

/**
 * `applyMigrations` once per pool and list in this process: a cold start pays the check (two
 * SELECTs when everything is applied), warm invocations nothing. A failure is not remembered,
 * so the next invocation checks again (after an operator applied the missing migrations, say).
 */
export function ensureMigrations(pool: Pool, migrations: readonly Migration[]): Promise<void> {
  let lists = ensured.get(pool);
  if (!lists) {
    lists = new Map();
    ensured.set(pool, lists);
  }
  const known = lists.get(migrations);
  if (known) return known;
  const pending = applyMigrations(pool, migrations).then(() => undefined);
  pending.catch(() => lists.delete(migrations));
  lists.set(migrations, pending);
  return pending;
}
