/**
 * The pipeline's PostgreSQL roles, on the real server: a throwaway database of this test's own
 * (so `revokePublic` cannot touch the shared `test` database), the storage processor's own
 * migrations run as the owner role, and what the pipeline role may and may not do there. Roles
 * are cluster-wide: theirs are unique names, dropped with the database afterwards.
 *
 * The machine's PostgreSQL trusts every local connection (pg_hba `trust`), so passwords are not
 * checked here; the SCRAM verifiers are checked against pg's own SCRAM client instead.
 */
import { createHash, createHmac } from 'node:crypto';
import { fc, test } from '@fast-check/jest';
import { Client, Pool } from 'pg';
import { errorMessage } from '../../core/errors';
import { STORAGE_MIGRATIONS } from '../../processors/storage/storageMigrations';
import { applyMigrations } from '../../processors/shared/migrations';
import { generatePassword } from '../../security/generatedPassword';
import { applyPostgresRoles } from '../../security/postgresRoles';
import { scramSha256Verifier } from '../../security/scramVerifier';
import { testServers } from '../support/servers';

// pg's SCRAM client (no types shipped): the code that logs in to PostgreSQL with a password
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sasl = require('pg/lib/crypto/sasl') as {
  startSession(mechanisms: string[]): { clientNonce: string; response: string };
  continueSession(session: object, password: string, serverData: string): Promise<void>;
  finalizeSession(session: object, serverData: string): void;
};

const suffix = `${process.pid}_${Date.now().toString(36)}`;
const database = `sluice_sec_${suffix}`;
const owner = `sluice_owner_${suffix}`;
const pipeline = `sluice_pipeline_${suffix}`;
const outsider = `sluice_outsider_${suffix}`;
const schema = 'sluice';

function urlFor(user: string): string {
  const url = new URL(testServers.postgresUrl);
  url.username = user;
  url.pathname = `/${database}`;
  return url.toString();
}

let admin: Client;
let pipelinePool: Pool;
let ownerPool: Pool;

async function outcome(sql: string, params: unknown[] = []): Promise<string> {
  return pipelinePool.query(sql, params).then(
    () => 'ok',
    (error: unknown) => errorMessage(error),
  );
}

beforeAll(async () => {
  admin = new Client({ connectionString: testServers.postgresUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.query(`CREATE ROLE ${outsider} LOGIN`);
  await applyPostgresRoles({
    adminUrl: urlFor(new URL(testServers.postgresUrl).username || 'postgres'),
    schema,
    ownerRole: owner,
    pipelineRole: pipeline,
    ownerPassword: generatePassword(),
    pipelinePassword: generatePassword(),
    revokePublic: true,
  });
  ownerPool = new Pool({ connectionString: urlFor(owner), max: 1 });
  // pool.end() resolves before the server has seen every socket close, and DROP DATABASE ...
  // FORCE then terminates what is left: an 'error' on a client we are done with
  ownerPool.on('error', () => undefined);
  await applyMigrations(ownerPool, STORAGE_MIGRATIONS);
  pipelinePool = new Pool({ connectionString: urlFor(pipeline), max: 1 });
  pipelinePool.on('error', () => undefined);
});

afterAll(async () => {
  await pipelinePool?.end();
  await ownerPool?.end();
  if (admin !== undefined) {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    for (const role of [pipeline, owner, outsider]) await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  }
});

const reading = ['dev-1', 1, 'temperature-humidity', 'site-01', new Date(0), '{"temperature":21}', new Date(0)];
const INSERT_READING = `INSERT INTO readings (device_id, seq, device_type, site_id, event_time, metrics, transform_time)
  VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`;

describe('the pipeline\'s PostgreSQL role', () => {
  it('reads, inserts and updates the processors\' tables (found by its search_path)', async () => {
    expect(await outcome(INSERT_READING, reading)).toBe('ok');
    expect(await outcome(INSERT_READING, reading)).toBe('ok'); // a replay: ON CONFLICT DO NOTHING needs nothing more
    expect(await outcome("UPDATE readings SET site_id = 'site-02' WHERE device_id = 'dev-1'")).toBe('ok');
    const rows = await pipelinePool.query<{ site_id: string }>('SELECT site_id FROM readings');
    expect(rows.rows).toEqual([{ site_id: 'site-02' }]);
    expect(await outcome('SELECT id FROM sluice_migrations')).toBe('ok');
  });

  it('cannot change the schema, delete, or write the migrations ledger', async () => {
    expect(await outcome('DROP TABLE readings')).toBe('must be owner of table readings');
    expect(await outcome('ALTER TABLE readings ADD COLUMN x int')).toBe('must be owner of table readings');
    expect(await outcome('TRUNCATE readings')).toBe('permission denied for table readings');
    expect(await outcome("DELETE FROM readings WHERE device_id = 'dev-1'")).toBe('permission denied for table readings');
    expect(await outcome('CREATE TABLE mine (id int)')).toBe(`permission denied for schema ${schema}`);
    expect(await outcome('CREATE TABLE public.mine (id int)')).toMatch(/^permission denied for schema public$/);
    expect(await outcome('CREATE TEMP TABLE scratch (id int)')).toBe(`permission denied to create temporary tables in database "${database}"`);
    expect(await outcome('CREATE SCHEMA other')).toBe(`permission denied for database ${database}`);
    // the ledger decides which migrations run: no inserting a migration id to skip one
    expect(await outcome("INSERT INTO sluice_migrations (id) VALUES ('storage-999-skip')")).toBe('permission denied for table sluice_migrations');
    expect(await outcome('DROP TABLE sluice_migrations')).toBe('must be owner of table sluice_migrations');
  });

  it('can use a table a later migration adds at once, while the owner alone owns everything', async () => {
    await applyMigrations(ownerPool, [{ id: `security-test-${suffix}`, sql: 'CREATE TABLE later_table (id bigserial PRIMARY KEY, note text NOT NULL)' }]);
    expect(await outcome("INSERT INTO later_table (note) VALUES ('from the pipeline')")).toBe('ok'); // sequence too
    const owners = await ownerPool.query<{ tablename: string; tableowner: string }>(
      `SELECT tablename, tableowner FROM pg_tables WHERE schemaname = $1 ORDER BY tablename`,
      [schema],
    );
    expect(owners.rows).toEqual(['aggregates', 'later_table', 'readings', 'sluice_migrations'].map((tablename) => ({ tablename, tableowner: owner })));
  });

  it('and its owner are plain login roles with SCRAM verifiers, and nobody else may connect', async () => {
    const roles = await admin.query<{ rolname: string; rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean; rolbypassrls: boolean; rolcanlogin: boolean }>(
      'SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname',
      [[owner, pipeline]],
    );
    for (const role of roles.rows) expect(role).toEqual({ rolname: role.rolname, rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolbypassrls: false, rolcanlogin: true });
    const secrets = await admin.query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = ANY($1)', [[owner, pipeline]]);
    for (const row of secrets.rows) expect(row.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);

    const stranger = new Client({ connectionString: urlFor(outsider) });
    stranger.on('error', () => undefined);
    const refused = await stranger.connect().then(() => 'connected', (error: unknown) => errorMessage(error));
    await stranger.end().catch(() => undefined);
    expect(refused).toBe(`permission denied for database "${database}"`);
  });

  it('converges when applied again', async () => {
    const again = await applyPostgresRoles({ adminUrl: urlFor(new URL(testServers.postgresUrl).username || 'postgres'), schema, ownerRole: owner, pipelineRole: pipeline, revokePublic: true });
    expect(again).toEqual({ database, schema, ownerRole: owner, pipelineRole: pipeline, tables: ['aggregates', 'later_table', 'readings'] });
    expect(await outcome(INSERT_READING, ['dev-2', 1, ...reading.slice(2)])).toBe('ok');
    expect(await outcome('CREATE TABLE mine (id int)')).toBe(`permission denied for schema ${schema}`);
  });
});

/** A SCRAM-SHA-256 server's side of a login, from nothing but the stored verifier. */
async function scramLogin(verifier: string, password: string): Promise<'accepted' | 'refused'> {
  const [, iterationsAndSalt = '', keys = ''] = verifier.split('$');
  const [iterations, salt] = iterationsAndSalt.split(':');
  const [storedKey = '', serverKey = ''] = keys.split(':');
  const session = sasl.startSession(['SCRAM-SHA-256']);
  const serverFirst = `r=${session.clientNonce}server-nonce,s=${salt},i=${iterations}`;
  await sasl.continueSession(session, password, serverFirst);
  const clientFinal = (session as { response: string }).response;
  const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(',p='));
  const proof = Buffer.from(clientFinal.slice(clientFinal.lastIndexOf(',p=') + 3), 'base64');
  const authMessage = `n=*,r=${session.clientNonce},${serverFirst},${withoutProof}`;
  const clientSignature = createHmac('sha256', Buffer.from(storedKey, 'base64')).update(authMessage).digest();
  const clientKey = Buffer.from(proof.map((byte, index) => byte ^ (clientSignature[index] ?? 0)));
  if (!createHash('sha256').update(clientKey).digest().equals(Buffer.from(storedKey, 'base64'))) return 'refused';
  // and the client checks the server: it must know ServerKey
  sasl.finalizeSession(session, `v=${createHmac('sha256', Buffer.from(serverKey, 'base64')).update(authMessage).digest('base64')}`);
  return 'accepted';
}

describe('SCRAM-SHA-256 verifiers', () => {
  test.prop([fc.stringMatching(/^[\x20-\x7e]{1,40}$/)], { numRuns: 25 })('let pg\'s own SCRAM client log in with the password, and not with another', async (password) => {
    const verifier = scramSha256Verifier(password);
    expect(await scramLogin(verifier, password)).toBe('accepted');
    expect(await scramLogin(verifier, `${password}x`)).toBe('refused');
  });

  it('refuse passwords SASLprep would change, and never contain the password', () => {
    expect(() => scramSha256Verifier('pässword')).toThrow('printable ASCII');
    const password = generatePassword();
    expect(scramSha256Verifier(password).includes(password)).toBe(false);
  });
});
