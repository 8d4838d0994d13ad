/**
 * PostgreSQL roles for the pipeline, least privilege first:
 *
 * - `sluice_owner` owns the schema and its tables and runs the migrations (DDL). Nothing else.
 * - `sluice_pipeline` is what the processors connect as: CONNECT to the database, USAGE on the
 *   schema, SELECT/INSERT/UPDATE on its tables, USAGE/SELECT on its sequences, SELECT only on the
 *   migrations ledger. No CREATE (no tables, no temporary tables with `revokePublic`), no
 *   DROP/ALTER/TRUNCATE (those belong to the owner), no DELETE.
 *
 * Default privileges make every table the owner creates later (a new migration) writable by the
 * pipeline at once; the ledger `sluice_migrations` is created here, by the owner, and the
 * pipeline's rights on it are cut back to SELECT. Idempotent: run it again after changes, it
 * converges.
 *
 * With `migrations` (`--migrate`: every processor's) the owner applies them here too, in a
 * session of the admin connection that runs as the owner: the processors, connected as the
 * pipeline role, then only read the ledger on start (processors/shared/migrations.ts).
 *
 * With `revokePublic` (for a database of the pipeline's own) PUBLIC loses its default CONNECT
 * and TEMPORARY on the database and everything on the schema: only the two roles (and superusers)
 * get in. Never on a shared database: other users of it would lose access.
 *
 * Passwords go in as SCRAM verifiers computed here (scramVerifier.ts), never as plain text.
 */
import { Client, Pool, escapeIdentifier, escapeLiteral } from 'pg';
import { ConfigError } from '../core/errors';
import type { Migration } from '../processors/shared/migrations';
import { applyMigrations, createMigrationsLedger, MIGRATIONS_LEDGER } from '../processors/shared/migrations';
import { scramSha256Verifier } from './scramVerifier';

export const DEFAULT_PG_OWNER_ROLE = 'sluice_owner';
export const DEFAULT_PG_PIPELINE_ROLE = 'sluice_pipeline';
export { MIGRATIONS_LEDGER };

export interface PostgresRolesOptions {
  /** a superuser (or a role with CREATEROLE that owns the database), e.g. postgres://postgres@127.0.0.1:5432/test */
  adminUrl: string;
  /** the schema the pipeline's tables live in (default public) */
  schema?: string;
  ownerRole?: string;
  pipelineRole?: string;
  ownerPassword?: string;
  pipelinePassword?: string;
  revokePublic?: boolean;
  /** migrations the owner applies (e.g. PIPELINE_MIGRATIONS); none by default */
  migrations?: readonly Migration[];
}

export interface PostgresRolesResult {
  database: string;
  schema: string;
  ownerRole: string;
  pipelineRole: string;
  /** tables the pipeline may now read and write (besides future ones, by default privileges) */
  tables: string[];
  /** ids applied by this call, in order; undefined when no migrations were asked for */
  migrated?: string[];
}

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function checkRoleName(name: string, path: string): string {
  if (!ROLE_NAME.test(name)) throw new ConfigError(path, `must be a lower-case identifier (a-z 0-9 _), got ${JSON.stringify(name)}`);
  return name;
}

export async function applyPostgresRoles(options: PostgresRolesOptions): Promise<PostgresRolesResult> {
  const schema = checkRoleName(options.schema ?? 'public', 'schema');
  const owner = checkRoleName(options.ownerRole ?? DEFAULT_PG_OWNER_ROLE, 'ownerRole');
  const pipeline = checkRoleName(options.pipelineRole ?? DEFAULT_PG_PIPELINE_ROLE, 'pipelineRole');
  if (owner === pipeline) throw new ConfigError('pipelineRole', `must differ from ownerRole (${owner})`);
  const [s, o, p] = [schema, owner, pipeline].map(escapeIdentifier) as [string, string, string];

  const admin = new Client({ connectionString: options.adminUrl });
  admin.on('error', () => undefined); // a dropped connection fails the query in flight; no crash besides
  await admin.connect();
  try {
    const database = (await admin.query<{ db: string }>('SELECT current_database() AS db')).rows[0]?.db ?? '';
    const d = escapeIdentifier(database);
    await inTransaction(admin, async () => {
      for (const [role, password] of [[owner, options.ownerPassword], [pipeline, options.pipelinePassword]] as const) {
        const exists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
        if (exists.rowCount === 0) await admin.query(`CREATE ROLE ${escapeIdentifier(role)}`);
        const passwordClause = password === undefined ? '' : ` PASSWORD ${escapeLiteral(scramSha256Verifier(password))}`;
        await admin.query(`ALTER ROLE ${escapeIdentifier(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS${passwordClause}`);
      }
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${s} AUTHORIZATION ${o}`);
      // a schema that already existed (public) may belong to someone else: the owner needs CREATE in it
      await admin.query(`GRANT USAGE, CREATE ON SCHEMA ${s} TO ${o}`);
      await admin.query(`GRANT CONNECT ON DATABASE ${d} TO ${o}, ${p}`);
      await admin.query(`REVOKE CREATE ON SCHEMA ${s} FROM ${p}`);
      await admin.query(`GRANT USAGE ON SCHEMA ${s} TO ${p}`);
      // later tables of the owner (new migrations) are the pipeline's to use at once
      await admin.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${o} IN SCHEMA ${s} GRANT SELECT, INSERT, UPDATE ON TABLES TO ${p}`);
      await admin.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${o} IN SCHEMA ${s} GRANT USAGE, SELECT ON SEQUENCES TO ${p}`);
      await admin.query(`ALTER ROLE ${o} IN DATABASE ${d} SET search_path = ${s}`);
      await admin.query(`ALTER ROLE ${p} IN DATABASE ${d} SET search_path = ${s}`);
      if (options.revokePublic === true) {
        await admin.query(`REVOKE ALL ON DATABASE ${d} FROM PUBLIC`);
        await admin.query(`REVOKE ALL ON SCHEMA ${s} FROM PUBLIC`);
      }
    });

    const migrated = await migrateAsOwner(options.adminUrl, owner, schema, options.migrations);

    const tables = await inTransaction(admin, async () => {
      await admin.query(`GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA ${s} TO ${p}`);
      await admin.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${p}`);
      // the ledger decides which migrations run: the pipeline may read it, never write it
      await admin.query(`REVOKE ALL ON ${s}.${escapeIdentifier(MIGRATIONS_LEDGER)} FROM ${p}`);
      await admin.query(`GRANT SELECT ON ${s}.${escapeIdentifier(MIGRATIONS_LEDGER)} TO ${p}`);
      const granted = await admin.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.role_table_grants
          WHERE grantee = $1 AND table_schema = $2 AND privilege_type = 'INSERT' ORDER BY table_name`,
        [pipeline, schema],
      );
      return granted.rows.map((row) => row.table_name);
    });
    return { database, schema, ownerRole: owner, pipelineRole: pipeline, tables, migrated };
  } finally {
    await admin.end();
  }
}

/**
 * The migrations ledger, created by processors/shared/migrations.ts itself (no copy of its DDL
 * here), then `migrations`, in a session that runs as the owner, so the owner owns all of it.
 */
async function migrateAsOwner(adminUrl: string, owner: string, schema: string, migrations: readonly Migration[] | undefined): Promise<string[] | undefined> {
  const pool = new Pool({ connectionString: adminUrl, max: 1, options: `-c role=${owner} -c search_path=${schema}`, application_name: 'sluice-security' });
  pool.on('error', () => undefined); // an idle client's error; the migration's own queries report theirs
  try {
    await createMigrationsLedger(pool);
    return migrations === undefined ? undefined : await applyMigrations(pool, migrations);
  } finally {
    await pool.end();
  }
}

async function inTransaction<T>(client: Client, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
